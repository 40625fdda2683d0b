//! Starts the real `zhibiao` binary on port 0 with a temporary store, and talks HTTP to it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use serde_json::Value;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A running server process and its store directory.
pub struct TestServer {
    pub base: String,
    pub client: Client,
    child: Child,
    dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

/// A catalogue header for tests that bring their own indicators.
pub const TEST_CATALOGUE_HEADER: &str = r#"
[catalogue]
region = "测试县"
document = "测试方案"
year = 2023

[[unit]]
name = "县统计局"

[[unit]]
name = "县科工局"
"#;

/// Runs `zhibiao import FILE --db DIR` and insists it succeeds.
pub fn import(file: &Path, dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_zhibiao"))
        .args([
            "import",
            file.to_str().unwrap(),
            "--db",
            dir.to_str().unwrap(),
        ])
        .output()
        .expect("run zhibiao import");
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestServer {
    /// A server on a fresh store, which loads the built-in 2023 catalogue.
    pub fn start() -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("db");
        let mut s = TestServer::start_at(&dir);
        s._tmp = Some(tmp);
        s
    }

    /// A server whose store holds only the indicators of `catalogue_body` (TOML
    /// `[[indicator]]` entries appended to [`TEST_CATALOGUE_HEADER`]).
    pub fn with_catalogue(catalogue_body: &str) -> TestServer {
        TestServer::with_catalogue_and(catalogue_body, &[])
    }

    /// [`TestServer::with_catalogue`] with extra `serve` options.
    pub fn with_catalogue_and(catalogue_body: &str, args: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("db");
        let file = tmp.path().join("catalogue.toml");
        std::fs::write(&file, format!("{TEST_CATALOGUE_HEADER}\n{catalogue_body}")).unwrap();
        import(&file, &dir);
        let mut s = TestServer::start_at_with(&dir, args);
        s._tmp = Some(tmp);
        s
    }

    /// A server on a fresh store with extra `serve` options.
    pub fn start_with(args: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("db");
        let mut s = TestServer::start_at_with(&dir, args);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on an existing (or new) store directory.
    pub fn start_at(dir: &Path) -> TestServer {
        TestServer::start_at_with(dir, &[])
    }

    /// Starts a server on a store directory with extra `serve` options.
    pub fn start_at_with(dir: &Path, args: &[&str]) -> TestServer {
        let mut child = crate::common::serve_command(dir, ADMIN_TOKEN, args)
            .spawn()
            .expect("spawn zhibiao serve");
        let base = crate::common::base_url(&mut child);
        TestServer {
            base,
            client: crate::common::client(Duration::from_secs(30)),
            child,
            dir: dir.to_path_buf(),
            _tmp: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().expect("GET")
    }

    pub fn get_json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().expect("JSON body")
    }

    /// Creates a submitter token for `units` as admin, insists on 201, and returns its
    /// secret.
    pub fn submitter(&self, name: &str, units: &[&str]) -> String {
        let r = self
            .client
            .post(self.url("/v1/tokens"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&serde_json::json!({"name": name, "role": "submitter", "units": units}))
            .send()
            .expect("POST /v1/tokens");
        assert_eq!(r.status(), 201, "create token {name}");
        r.json::<Value>().unwrap()["token"]
            .as_str()
            .expect("the secret")
            .to_string()
    }

    /// PUT a reading as admin.
    pub fn put_reading(&self, id: &str, period: &str, body: Value) -> Response {
        self.client
            .put(self.url(&format!("/v1/indicators/{id}/readings/{period}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .expect("PUT")
    }

    /// PUT a value and insist it was accepted.
    pub fn submit(&self, id: &str, period: &str, value: f64) {
        let r = self.put_reading(id, period, serde_json::json!({ "value": value }));
        assert!(
            r.status().is_success(),
            "PUT {id} {period}: {}",
            r.text().unwrap()
        );
    }

    pub fn attainment(&self, id: &str, as_of: &str) -> Value {
        self.get_json(&format!("/v1/indicators/{id}/attainment?as_of={as_of}"))
    }

    /// Kills the process without any chance to clean up, as a crash would.
    pub fn kill(mut self) -> (PathBuf, Option<tempfile::TempDir>) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.dir.clone(), self._tmp.take())
    }

    /// Waits until the process has exited after SIGTERM.
    pub fn stop(mut self) -> (PathBuf, Option<tempfile::TempDir>) {
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return (self.dir.clone(), self._tmp.take());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that a JSON number is within 1e-6 of `want`.
pub fn assert_close(v: &Value, field: &str, want: f64) {
    let got = v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {v}"));
    assert!((got - want).abs() < 1e-6, "{field}: got {got}, want {want}");
}

/// Asserts that a field is JSON null.
pub fn assert_null(v: &Value, field: &str) {
    assert!(v[field].is_null(), "{field} should be null in {v}");
}

/// One `[[indicator]]` TOML entry for a test catalogue.
pub fn entry(id: &str, kind: &str, direction: &str, target: &str) -> String {
    format!(
        r#"
[[indicator]]
id = "{id}"
name = "测试指标{id}"
battle = "growth"
kind = "{kind}"
unit = "个"
direction = "{direction}"
frequency = "monthly"
lead_units = ["县科工局"]
source = {{ section = "测试", quote = "测试" }}
[indicator.target]
{target}
"#
    )
}
