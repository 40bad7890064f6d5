use super::*;

#[test]
fn flag_beats_file_beats_default() {
    let dir = std::env::temp_dir().join(format!("revcycle-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(&file, "bind = \"127.0.0.1:9000\"\npool_size = 3\n").unwrap();
    let mut args = ConfigArgs::default();
    args.file.config = Some(file.clone());
    args.server.pool_size = Some(7);
    args.store.database_url = Some("x.db".into());
    let c = Config::load(&args).unwrap();
    assert_eq!(c.bind.port(), 9000, "file value used when no flag");
    assert_eq!(c.pool_size, 7, "flag wins over file");
    assert_eq!(c.body_limit, DEFAULT_BODY_LIMIT, "default when neither");
    assert_eq!(c.auth_mode, AuthMode::Dev, "development mode unless asked");
    std::fs::write(
        &file,
        "auth_mode = \"jwks\"\ntoken_audience = [\"a\", \"b\"]\ntoken_issuer = \"https://idp\"\n",
    )
    .unwrap();
    let c = Config::load(&args).unwrap();
    assert_eq!(c.auth_mode, AuthMode::Jwks);
    assert_eq!(c.token_audience, ["a", "b"]);
    let mut with_flag = args.clone();
    with_flag.auth.token_audience = vec!["c".into()];
    let c = Config::load(&with_flag).unwrap();
    assert_eq!(c.token_audience, ["c"], "flag replaces the file's list");
    std::fs::write(&file, "token_audience = \"only\"\n").unwrap();
    assert_eq!(Config::load(&args).unwrap().token_audience, ["only"]);
    std::fs::write(&file, "nonsense = 1\n").unwrap();
    assert!(matches!(
        Config::load(&args),
        Err(ConfigError::Parse { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}

mod retention_tests {
    use super::super::*;

    fn load(toml: &str, mut args: ConfigArgs) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!("revcycle-ret-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, toml).unwrap();
        args.file.config = Some(file);
        args.store.data_dir = Some(dir.join("data"));
        args.store.database_url = Some("x.db".into());
        let result = Config::load(&args);
        std::fs::remove_dir_all(&dir).ok();
        result
    }

    #[test]
    fn six_calendar_years_unless_configured_longer() {
        let c = load("", ConfigArgs::default()).unwrap();
        assert_eq!(c.audit_retention, Retention::Months(72));
        let c = load("audit_retention_days = 3000\n", ConfigArgs::default()).unwrap();
        assert_eq!(c.audit_retention, Retention::Days(3000));
        let mut flag = ConfigArgs::default();
        flag.audit.audit_retention_days = Some(4000);
        let c = load("audit_retention_days = 3000\n", flag).unwrap();
        assert_eq!(c.audit_retention, Retention::Days(4000), "the flag wins");
    }

    #[test]
    fn less_than_six_years_is_refused_with_the_reason() {
        for (toml, args) in [
            ("audit_retention_days = 365\n", ConfigArgs::default()),
            (
                "",
                ConfigArgs {
                    audit: AuditTrailArgs {
                        audit_retention_days: Some(2190),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            ),
        ] {
            let err = load(toml, args).unwrap_err().to_string();
            assert!(err.contains("shorter than six years"), "{err}");
            assert!(err.contains("164.316(b)(2)(i)"), "{err}");
        }
    }
}

mod master_key_tests {
    use super::super::*;

    fn load(toml: &str, args: ConfigArgs) -> Result<Config, ConfigError> {
        let dir = tempfile_dir();
        let file = dir.join("c.toml");
        std::fs::write(&file, toml).unwrap();
        let mut args = args;
        args.file.config = Some(file);
        args.store.data_dir = Some(dir.join("data"));
        let result = Config::load(&args);
        std::fs::remove_dir_all(&dir).ok();
        result
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("revcycle-mk-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn key_file_by_default_then_file_then_flag() {
        let c = load("", ConfigArgs::default()).unwrap();
        match c.master_key {
            MasterKeySource::File(p) => assert!(p.ends_with("data/master.key"), "{p:?}"),
            other => panic!("{other:?}"),
        }
        let c = load("master_key_file = \"/etc/rc/mk\"\n", ConfigArgs::default()).unwrap();
        assert_eq!(c.master_key, MasterKeySource::File("/etc/rc/mk".into()));
        let mut args = ConfigArgs::default();
        args.keys.master_key_file = Some("/flag/mk".into());
        let c = load("master_key_file = \"/etc/rc/mk\"\n", args).unwrap();
        assert_eq!(c.master_key, MasterKeySource::File("/flag/mk".into()));
    }

    #[test]
    fn kms_from_file_with_flag_overrides() {
        let toml = "kms_key_id = \"alias/file\"\nkms_region = \"eu-west-1\"\n";
        let c = load(toml, ConfigArgs::default()).unwrap();
        assert_eq!(
            c.master_key,
            MasterKeySource::AwsKms(AwsKmsConfig {
                key_id: "alias/file".into(),
                region: "eu-west-1".into(),
                endpoint: None,
            })
        );
        let args = ConfigArgs {
            keys: MasterKeyArgs {
                master_key_file: None,
                kms_key_id: Some("arn:aws:kms:us-east-2:111122223333:key/k".into()),
                kms_region: Some("us-east-2".into()),
                kms_endpoint: Some("https://kms.example".into()),
            },
            ..Default::default()
        };
        let c = load(toml, args).unwrap();
        assert_eq!(
            c.master_key,
            MasterKeySource::AwsKms(AwsKmsConfig {
                key_id: "arn:aws:kms:us-east-2:111122223333:key/k".into(),
                region: "us-east-2".into(),
                endpoint: Some("https://kms.example".into()),
            })
        );
    }

    #[test]
    fn two_sources_are_refused() {
        let err = load(
            "kms_key_id = \"alias/x\"\nkms_region = \"us-east-1\"\nmaster_key_file = \"/mk\"\n",
            ConfigArgs::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("choose one master key source"),
            "{err}"
        );
    }
}

mod nats_tests {
    use super::super::*;

    fn load(toml: &str, mut args: ConfigArgs) -> Result<Config, ConfigError> {
        let dir = std::env::temp_dir().join(format!("revcycle-nats-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, toml).unwrap();
        args.file.config = Some(file);
        args.store.data_dir = Some(dir.join("data"));
        args.store.database_url = Some("x.db".into());
        let result = Config::load(&args);
        std::fs::remove_dir_all(&dir).ok();
        result
    }

    #[test]
    fn off_unless_a_url_is_set_with_defaults_for_the_rest() {
        let c = load("", ConfigArgs::default()).unwrap();
        assert_eq!(c.events.nats, None);
        let c = load(
            "events_nats_url = \"nats://127.0.0.1:4222\"\n",
            ConfigArgs::default(),
        )
        .unwrap();
        assert_eq!(
            c.events.nats,
            Some(NatsConfig {
                url: "nats://127.0.0.1:4222".into(),
                stream: DEFAULT_NATS_STREAM.into(),
                subject_prefix: DEFAULT_NATS_SUBJECT_PREFIX.into(),
            })
        );
        let mut args = ConfigArgs::default();
        args.server.events_nats_stream = Some("BILLING".into());
        let c = load(
            "events_nats_url = \"nats://n:4222\"\nevents_nats_stream = \"X\"\n\
             events_nats_subject_prefix = \"acme.rc\"\n",
            args,
        )
        .unwrap();
        let n = c.events.nats.unwrap();
        assert_eq!(
            (n.stream.as_str(), n.subject_prefix.as_str()),
            ("BILLING", "acme.rc")
        );
    }

    #[test]
    fn a_stream_name_or_prefix_nats_would_refuse_is_refused_at_start() {
        for toml in [
            "events_nats_stream = \"a.b\"",
            "events_nats_stream = \"a b\"",
            "events_nats_subject_prefix = \"acme.*\"",
            "events_nats_subject_prefix = \"acme..rc\"",
            "events_nats_subject_prefix = \"acme.>\"",
        ] {
            let r = load(
                &format!("events_nats_url = \"nats://n:4222\"\n{toml}\n"),
                ConfigArgs::default(),
            );
            assert!(matches!(r, Err(ConfigError::Invalid(_))), "{toml}: {r:?}");
        }
    }
}
