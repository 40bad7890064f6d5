//! The master key as an operator handles it: a private key file, AWS KMS (against a local
//! moto), and `keys rewrap` moving every organization's keys to a new master key.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use diesel::prelude::*;
use revcycle_core::phi::{
    AwsKms, AwsKmsConfig, KeyKind, KeyWrapper, LocalMasterKey, sigv4::Credentials, wrap_aad,
};
use revcycle_e2e::{Engine, Moto, Server, revcycle_bin};
use serde_json::{Value, json};

use crate::fixtures;
use crate::on_both_engines;

/// `(org_id, kind, version, wrapped, wrapper_id)` of every stored key.
fn key_rows(url: &str) -> Vec<(String, String, i32, Vec<u8>, String)> {
    use revcycle_core::store::schema::org_keys::dsl::*;
    let mut conn = revcycle_core::store::connect(url).expect("connect");
    org_keys
        .select((org_id, kind, version, wrapped, wrapper_id))
        .load(&mut conn)
        .expect("org_keys")
}

fn unwraps_any(wrapper: &dyn KeyWrapper, url: &str) -> bool {
    key_rows(url)
        .iter()
        .any(|(org, kind, version, wrapped, _)| {
            let kind = if kind == "index" {
                KeyKind::Index
            } else {
                KeyKind::Data
            };
            let aad = wrap_aad(org.parse().expect("uuid"), kind, *version);
            wrapper.unwrap(wrapped, &aad).is_ok()
        })
}

/// A patient in the server's first org and one in a second org; returns both with tokens.
async fn two_orgs_with_patients(s: &Server) -> Vec<(String, String)> {
    let first = s.create("/v1/patients", &fixtures::patient_body()).await;
    let (_, token) = s.new_org("Second practice");
    let mut body = fixtures::patient_body();
    body["family_name"] = json!("Secondorgfamily");
    let r = s
        .call("POST", "/v1/patients", Some(&token), Some(&body), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    vec![
        (s.token.clone(), first["id"].as_str().unwrap().to_string()),
        (token, r.body["id"].as_str().unwrap().to_string()),
    ]
}

async fn family_names(s: &Server, patients: &[(String, String)]) -> Vec<Value> {
    let mut names = vec![];
    for (token, id) in patients {
        let r = s
            .call("GET", &format!("/v1/patients/{id}"), Some(token), None, &[])
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        names.push(r.body["family_name"].clone());
    }
    names
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_group_readable_master_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        Command::new(revcycle_bin())
            .args(args)
            .env("REVCYCLE_DATA_DIR", &data)
            .env("REVCYCLE_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("REVCYCLE_DATABASE_URL")
            .env_remove("REVCYCLE_MASTER_KEY")
            .output()
            .unwrap()
    };
    assert!(
        run(&["migrate"]).status.success(),
        "first run creates the key"
    );
    let key_file = data.join("master.key");
    let key_text = std::fs::read_to_string(&key_file).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&["serve", "--bind", "127.0.0.1:0", "--insecure-http"]);
    assert!(!out.status.success(), "the server must not start");
    let err = stderr_of(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(
        lines[0].starts_with("revcycle: master key: master key file ")
            && lines[0].contains("is accessible by group or others (mode 0644)")
            && lines[0].contains("chmod 600"),
        "{err}"
    );
    assert!(
        !err.contains(key_text.trim()),
        "no key material in the error"
    );
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(run(&["migrate"]).status.success(), "0600 is accepted again");
}

async fn rewrap_to_a_new_key_file(engine: Engine) {
    let mut s = Server::start(engine).await;
    let patients = two_orgs_with_patients(&s).await;
    let before = family_names(&s, &patients).await;
    s.stop();
    let keys = tempfile::tempdir().unwrap();
    let old_key = keys.path().join("old.key");
    std::fs::copy(s.data_dir.join("master.key"), &old_key).unwrap();
    let new_key = keys.path().join("new.key");

    let out = s.admin(&["keys", "rewrap", "--to-key-file", new_key.to_str().unwrap()]);
    let new_id = LocalMasterKey::load(&new_key).unwrap().id();
    assert!(
        out.starts_with(&format!(
            "re-wrapped 4 keys of 2 organizations from {} to {new_id}",
            LocalMasterKey::load(&old_key).unwrap().id()
        )),
        "{out}"
    );
    assert_eq!(
        std::fs::metadata(&new_key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        key_rows(&s.db.url).iter().all(|r| r.4 == new_id),
        "every row names the new master key"
    );
    assert!(!unwraps_any(
        &LocalMasterKey::load(&old_key).unwrap(),
        &s.db.url
    ));
    assert!(unwraps_any(
        &LocalMasterKey::load(&new_key).unwrap(),
        &s.db.url
    ));

    // The data dir's master.key is still the old key: the server refuses it at start-up.
    let refused = s.admin_output(&["serve", "--bind", "127.0.0.1:0", "--insecure-http"], &[]);
    assert!(!refused.status.success());
    assert!(
        stderr_of(&refused).contains("did not wrap the stored keys"),
        "{}",
        stderr_of(&refused)
    );

    s.restart_with(&[("REVCYCLE_MASTER_KEY_FILE", new_key.to_str().unwrap())])
        .await;
    assert_eq!(family_names(&s, &patients).await, before);
    assert_eq!(before[0], json!(fixtures::FAMILY));
}
on_both_engines!(rewrap_to_a_new_key_file);

fn kms_env<'a>(moto: &'a Moto, key: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut env = moto.aws_env();
    env.push(("REVCYCLE_KMS_KEY_ID", key));
    env.push(("REVCYCLE_KMS_ENDPOINT", &moto.endpoint));
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_kms_master_key_never_touches_the_disk() {
    let moto = Moto::start();
    let key = moto.create_kms_key();
    let env = kms_env(&moto, &key);
    let mut s = Server::start_with(Engine::Sqlite, &env).await;
    let created = s.create("/v1/patients", &fixtures::patient_body()).await;
    let id = created["id"].as_str().unwrap().to_string();
    s.restart_with(&env).await;
    let r = s.get(&format!("/v1/patients/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["family_name"], json!(fixtures::FAMILY));
    assert!(
        !s.data_dir.join("master.key").exists(),
        "no master key file with KMS"
    );
    let rows = key_rows(&s.db.url);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| r.4 == format!("aws-kms:{key}")),
        "{:?}",
        rows.iter().map(|r| &r.4).collect::<Vec<_>>()
    );
    assert!(
        s.log()
            .contains(&format!("master key held by AWS KMS key={key}"))
    );

    // KMS itself binds a wrapped key to its org, kind and version (the encryption context).
    let kms = AwsKms::connect_with(
        &AwsKmsConfig {
            key_id: key.clone(),
            region: Moto::REGION.into(),
            endpoint: Some(moto.endpoint.clone()),
        },
        Credentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".to_string().into(),
            session_token: None,
        },
    )
    .unwrap();
    let (org, _, version, wrapped, _) = &rows[0];
    let org = org.parse().unwrap();
    let kind = if rows[0].1 == "index" {
        KeyKind::Index
    } else {
        KeyKind::Data
    };
    assert!(kms.unwrap(wrapped, &wrap_aad(org, kind, *version)).is_ok());
    let err = kms
        .unwrap(wrapped, &wrap_aad(org, kind, version + 1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("AWS KMS"), "{err}");
    assert!(
        kms.unwrap(wrapped, &wrap_aad(uuid::Uuid::now_v7(), kind, *version))
            .is_err()
    );

    // A KMS key that does not exist is a clear start-up error.
    s.stop();
    let missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000";
    let out = s.admin_output(&["migrate"], &kms_env(&moto, missing));
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains("AWS KMS: DescribeKey failed with HTTP 400: NotFoundException"),
        "{err}"
    );
    assert!(!err.contains("testing"), "no credentials in errors: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrap_from_a_key_file_to_aws_kms() {
    let moto = Moto::start();
    let key = moto.create_kms_key();
    let mut s = Server::start(Engine::Postgres).await;
    let patients = two_orgs_with_patients(&s).await;
    let before = family_names(&s, &patients).await;
    s.stop();
    let old_key = LocalMasterKey::load(&s.data_dir.join("master.key")).unwrap();

    let out = s.admin_output(
        &[
            "keys",
            "rewrap",
            "--to-kms",
            &key,
            "--to-kms-region",
            Moto::REGION,
            "--to-kms-endpoint",
            &moto.endpoint,
        ],
        &moto.aws_env(),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "re-wrapped 4 keys of 2 organizations from {} to aws-kms:{key}",
            old_key.id()
        )),
        "{stdout}"
    );
    assert!(!unwraps_any(&old_key, &s.db.url));

    // The key file is no longer needed: remove it and run on KMS alone.
    std::fs::remove_file(s.data_dir.join("master.key")).unwrap();
    s.restart_with(&kms_env(&moto, &key)).await;
    assert_eq!(family_names(&s, &patients).await, before);
    assert!(!s.data_dir.join("master.key").exists());
}
