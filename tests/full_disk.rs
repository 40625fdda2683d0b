//! A full disk: the real server on a small tmpfs, fed batches until the disk runs out.
//!
//! - every refusal is a 507 `urn:zhibiao:problem:disk-full` saying so in Chinese, never
//!   a 500 or a dropped connection, and never a 2xx;
//! - after a SIGKILL, space freed and a restart, every acknowledged reading reads back
//!   exactly, no reading of a refused batch is there, `zhibiao check` is clean, and a new
//!   write is accepted.
//!
//! Mounting a tmpfs needs root (or `sudo -n`), so the test is ignored in plain `cargo
//! test`; `.ci/run` runs it: `cargo test --release --test full_disk -- --ignored`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

const ADMIN: &str = "full-disk-test-admin-token-0123456789";
/// The tmpfs: room for the catalogue and a few thousand readings once the ballast is in.
const DISK: &str = "16m";
/// Free space left beside the ballast file.
const HEADROOM: u64 = 3 << 20;
const ROWS: usize = 50;

/// `cmd` as root: directly when we are root, else through `sudo -n`.
fn as_root(args: &[&str]) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut c = if root {
        Command::new(args[0])
    } else {
        let mut c = Command::new("sudo");
        c.args(["-n", args[0]]);
        c
    };
    c.args(&args[1..]);
    c
}

/// A tmpfs mounted for the test's life.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let p = at.to_str().unwrap();
        let out = as_root(&[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            &format!("size={DISK}"),
            "tmpfs",
            p,
        ])
        .output()
        .expect("run mount");
        assert!(
            out.status.success(),
            "mount a {DISK} tmpfs at {p} (needs root or sudo -n): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }

    /// Bytes free, as `df` says.
    fn free(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.0)
            .output()
            .expect("run df");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .expect("df's answer")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = as_root(&["umount", "-l", self.0.to_str().unwrap()]).status();
    }
}

fn client() -> reqwest::blocking::Client {
    common::client(Duration::from_secs(60))
}

/// The batch numbered `b`: `ROWS` readings on keys never used before, each explained
/// so that no quality check refuses it (a huge value in a percentage, say).
fn batch(ids: &[String], b: usize) -> Vec<Value> {
    (0..ROWS)
        .map(|j| {
            let k = b * ROWS + j;
            let (id, n) = (&ids[k % ids.len()], k / ids.len());
            json!({
                "indicator": id,
                "period": format!("{}-{:02}", 2000 + n / 12, n % 12 + 1),
                "value": k as f64 + 0.25,
                "explanation": "满盘测试",
            })
        })
        .collect()
}

/// Every reading of `id` the server lists: period → value.
fn readings(base: &str, id: &str) -> Vec<(String, f64)> {
    let v: Value = client()
        .get(format!("{base}/v1/indicators/{id}/readings"))
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("readings of {id}: {e}"));
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["period"].as_str().unwrap().to_string(),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
#[ignore = "mounts a tmpfs (root or sudo -n); run by .ci/run"]
fn a_full_disk_refuses_writes_with_507_and_keeps_every_acknowledged_one() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&tmp.path().join("disk"));
    let db = disk.0.join("db");
    let mut srv = common::ServerProcess::start(&db, ADMIN, &[]);
    let ids: Vec<String> = client()
        .get(format!("{}/v1/indicators", srv.base))
        .send()
        .and_then(|r| r.json::<Value>())
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();

    // Fill the disk but for a little room.
    let ballast = disk.0.join("ballast");
    let fill = disk.free().saturating_sub(HEADROOM);
    std::fs::write(&ballast, vec![1u8; fill as usize]).unwrap();

    let (mut acked, mut refused) = (Vec::new(), Vec::new());
    let mut answers: Vec<String> = Vec::new();
    let mut next = 0;
    // 1,200 batches use every key of 2000–2025; the disk is full long before.
    for b in 0..1200 {
        next = b + 1;
        let rows = batch(&ids, b);
        let r = client()
            .post(format!("{}/v1/readings", srv.base))
            .bearer_auth(ADMIN)
            .json(&rows)
            .send();
        match r {
            Ok(r) if r.status().is_success() => acked.extend(rows),
            Ok(r) => {
                let st = r.status().as_u16();
                let body: Value = r.json().unwrap_or(Value::Null);
                assert_eq!(st, 507, "a refusal on a full disk: {body}");
                assert_eq!(body["type"], "urn:zhibiao:problem:disk-full", "{body}");
                let detail = body["detail"].as_str().unwrap_or_default();
                assert!(detail.contains("存储空间已满"), "{detail}");
                answers.push(detail.to_string());
                refused.extend(rows);
                if refused.len() >= 5 * ROWS {
                    break;
                }
            }
            Err(e) => panic!("batch {b}: no answer ({e}); server log:\n{}", srv.log()),
        }
    }
    assert!(
        !refused.is_empty(),
        "{} readings written and the disk never filled",
        acked.len()
    );
    assert!(
        !acked.is_empty(),
        "nothing was acknowledged before the disk filled"
    );
    println!(
        "full-disk: {} readings acknowledged, then {} refused with 507: {}",
        acked.len(),
        refused.len(),
        answers[0]
    );

    // The power goes, the administrator frees space, the server comes back.
    srv.kill();
    std::fs::remove_file(&ballast).unwrap();
    let check = common::output(&mut common::zhibiao(&[
        "check",
        "--db",
        db.to_str().unwrap(),
    ]));
    assert!(
        check.status.success(),
        "zhibiao check after the full disk: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let srv = common::ServerProcess::start(&db, ADMIN, &[]);
    let mut stored = std::collections::HashMap::new();
    for id in &ids {
        for (p, v) in readings(&srv.base, id) {
            stored.insert((id.clone(), p), v);
        }
    }
    let key = |r: &Value| {
        (
            r["indicator"].as_str().unwrap().to_string(),
            r["period"].as_str().unwrap().to_string(),
        )
    };
    let lost: Vec<_> = acked
        .iter()
        .filter(|r| stored.get(&key(r)) != r["value"].as_f64().as_ref())
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged readings lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let landed: Vec<_> = refused
        .iter()
        .filter(|r| stored.contains_key(&key(r)))
        .collect();
    assert!(
        landed.is_empty(),
        "{} readings of refused batches were stored: {:?}",
        landed.len(),
        &landed[..landed.len().min(5)]
    );
    assert_eq!(stored.len(), acked.len(), "nothing else was stored");
    // With room again, writes are accepted.
    let r = client()
        .post(format!("{}/v1/readings", srv.base))
        .bearer_auth(ADMIN)
        .json(&batch(&ids, next))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    println!(
        "full-disk: after freeing space and a restart, all {} acknowledged readings are there, none of the refused, check ok",
        acked.len()
    );
}
