//! AWS KMS for tests: a local `moto` server with a symmetric key.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::eventually;
use crate::python_tool;

/// The moto requirement the KMS tests run against.
pub const MOTO: &str = "moto[server]==5.2.1";

/// A local AWS API emulator (`moto_server`) on a free loopback port, stopped when dropped.
pub struct Moto {
    pub endpoint: String,
    bin: PathBuf,
    child: Child,
}

impl Moto {
    /// Region the tests use; the access key and secret below are moto's conventional fakes.
    pub const REGION: &'static str = "us-east-1";

    pub fn start() -> Moto {
        let bin = python_tool("moto", &[MOTO]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(bin.join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto_server");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let up = eventually(Duration::from_secs(60), || {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        if !up {
            let _ = child.kill();
            let out = child.wait_with_output().expect("moto output");
            panic!(
                "moto_server did not listen on {addr}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Nobody reads moto's request log: do not let a full pipe block it.
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(
            move || {
                for _ in BufReader::new(stderr).lines().map_while(Result::ok) {}
            },
        );
        Moto {
            endpoint: format!("http://{addr}"),
            bin,
            child,
        }
    }

    /// AWS credentials and region for a process talking to this moto.
    pub fn aws_env(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", Self::REGION),
        ]
    }

    /// Creates a symmetric KMS key (through boto3, which moto ships) and returns its ARN.
    pub fn create_kms_key(&self) -> String {
        let script = "import sys, boto3\n\
            kms = boto3.client('kms', endpoint_url=sys.argv[1], region_name=sys.argv[2],\n\
                aws_access_key_id='testing', aws_secret_access_key='testing')\n\
            print(kms.create_key(Description='revcycle test master key')['KeyMetadata']['Arn'])\n";
        let out = Command::new(self.bin.join("python"))
            .args(["-c", script, &self.endpoint, Self::REGION])
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "CreateKey failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
