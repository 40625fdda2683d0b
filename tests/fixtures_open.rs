//! Every fixture store under `tests/fixtures` (one per store format, each written by
//! the release of that format: see `tests/fixtures/README.md`) opens with this build,
//! is upgraded to the current format after a backup of it is written beside it, and
//! holds what its recipe wrote. `zhibiao migrate --dry-run` describes the upgrade and
//! changes nothing; `zhibiao migrate` performs it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use zhibiao::domain::{IndicatorId, Period};
use zhibiao::store::migrate::STORE_FORMAT;
use zhibiao::store::{Change, NotifierState, Role, Store};

const BIN: &str = env!("CARGO_BIN_EXE_zhibiao");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const CACHE: u64 = 64 * 1024 * 1024;

/// sled locks a store with `flock`, which a child process shares from its fork until
/// its exec: hold this while a store is open in this process or a child is spawned.
static FORK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fork_guard() -> std::sync::MutexGuard<'static, ()> {
    FORK.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(args: &[&str]) -> Output {
    let _g = fork_guard();
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("ZHIBIAO_ADMIN_TOKEN")
        .env_remove("ZHIBIAO_BACKUP_KEY_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn zhibiao")
        .wait_with_output()
        .expect("run zhibiao")
}

fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "zhibiao {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A private copy of a fixture store (opening a store writes to it), alone in its own
/// directory so that the backup written beside it can be found.
fn fixture_copy(tmp: &Path, name: &str) -> PathBuf {
    let dest = tmp.join(name);
    copy_dir(&Path::new(FIXTURES).join(name), &dest);
    dest
}

/// The files beside the store copy whose names end in `.backup`.
fn backups_beside(db: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "backup"))
        .collect();
    v.sort();
    v
}

/// Every tree of a closed store, read with sled itself: name → key → value.
type Raw = BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, Vec<u8>>>;

fn raw(db: &Path) -> Raw {
    let _g = fork_guard();
    let sled_db = sled::Config::new().path(db).open().unwrap();
    let mut out = Raw::new();
    for name in sled_db.tree_names() {
        let t = sled_db.open_tree(&name).unwrap();
        out.insert(
            name.to_vec(),
            t.iter()
                .map(|kv| {
                    let (k, v) = kv.unwrap();
                    (k.to_vec(), v.to_vec())
                })
                .collect(),
        );
    }
    out
}

fn meta(raw: &Raw, key: &str) -> Option<Vec<u8>> {
    raw.get(&b"meta"[..])?.get(key.as_bytes()).cloned()
}

fn id(s: &str) -> IndicatorId {
    IndicatorId::parse(s).unwrap()
}

fn period(s: &str) -> Period {
    s.parse().unwrap()
}

/// What each fixture's recipe wrote.
struct Expected {
    name: &'static str,
    format: u8,
    audit_rows: usize,
    readings: usize,
    /// When gdp-growth 2023-06 was revised (kept to the nanosecond).
    revised_at: &'static str,
    notifier: NotifierState,
    webhooks: &'static [&'static str],
}

fn expected() -> Vec<Expected> {
    let seen = |v: &[(&str, &str, &str)]| {
        v.iter()
            .map(|(i, sev, st)| (i.to_string(), (sev.to_string(), st.to_string())))
            .collect()
    };
    vec![
        Expected {
            name: "store-v1",
            format: 1,
            audit_rows: 428,
            readings: 18,
            revised_at: "2026-11-28T02:30:24.533425964Z",
            notifier: NotifierState::default(),
            webhooks: &[],
        },
        Expected {
            name: "store-v2",
            format: 2,
            // As store-v1, and 9 region rows of the built-in catalogue.
            audit_rows: 437,
            readings: 18,
            revised_at: "2026-12-04T20:32:56.268918685Z",
            notifier: NotifierState {
                cursor: Some(436),
                // The alerts when the receiver was registered (the baseline), and after
                // the submitter's reading, which changed none of them.
                seen: Some(seen(&[
                    (
                        "fixed-asset-investment-growth",
                        "critical",
                        "severely_behind",
                    ),
                    ("import-export-value", "critical", "behind"),
                    ("tech-sme-registered", "critical", "behind"),
                ])),
                remind_day: Some("2026-12-05".parse().unwrap()),
            },
            webhooks: &["county-office"],
        },
        Expected {
            name: "store-v3",
            format: 3,
            // As store-v2: receivers and tokens write no audit rows.
            audit_rows: 437,
            readings: 18,
            revised_at: "2026-12-05T01:41:57.691170448Z",
            notifier: NotifierState {
                cursor: Some(436),
                // As store-v2: the second receiver, registered with the first, shares
                // the baseline.
                seen: Some(seen(&[
                    (
                        "fixed-asset-investment-growth",
                        "critical",
                        "severely_behind",
                    ),
                    ("import-export-value", "critical", "behind"),
                    ("tech-sme-registered", "critical", "behind"),
                ])),
                remind_day: Some("2026-12-05".parse().unwrap()),
            },
            webhooks: &["county-office", "innovation-desk"],
        },
        Expected {
            name: "store-v4",
            format: 4,
            audit_rows: 440,
            // As store-v3, and a reading accepted flagged (new-above-scale-industrial-firms
            // 2023-09).
            readings: 19,
            revised_at: "2026-12-06T08:21:12.132867389Z",
            // The baseline, then the flagged reading's alert, which the notifier saw.
            notifier: NotifierState {
                cursor: Some(439),
                seen: Some(seen(&[
                    (
                        "fixed-asset-investment-growth",
                        "critical",
                        "severely_behind",
                    ),
                    ("import-export-value", "critical", "behind"),
                    (
                        "new-above-scale-industrial-firms",
                        "critical",
                        "severely_behind",
                    ),
                    ("tech-sme-registered", "critical", "behind"),
                ])),
                remind_day: Some("2026-12-06".parse().unwrap()),
            },
            webhooks: &["county-office", "innovation-desk"],
        },
    ]
}

#[test]
fn there_is_a_fixture_of_every_older_format_and_this_test_knows_each() {
    let mut on_disk: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("store-v"))
        .collect();
    on_disk.sort();
    let known: Vec<String> = expected().iter().map(|e| e.name.to_string()).collect();
    assert_eq!(on_disk, known, "add the new fixture's expectations here");
    let formats: Vec<u8> = expected().iter().map(|e| e.format).collect();
    assert_eq!(formats, (1..STORE_FORMAT).collect::<Vec<_>>());
}

#[test]
fn every_fixture_store_opens_upgraded_with_its_content_after_a_backup() {
    for want in expected() {
        let tmp = tempfile::tempdir().unwrap();
        let db = fixture_copy(tmp.path(), want.name);
        let before = raw(&db);
        assert_eq!(
            meta(&before, "format"),
            Some(vec![want.format]),
            "{}",
            want.name
        );
        assert!(backups_beside(&db).is_empty());
        {
            let _g = fork_guard();
            let store = Store::open(&db, CACHE).expect(want.name);
            assert_eq!(store.indicators().unwrap().len(), 203, "{}", want.name);
            assert!(store
                .indicators()
                .unwrap()
                .iter()
                .all(|i| i.region == "桃江县"));
            // Readings: the batch, the revision, the year without a target, and the
            // submitter's reading; the withdrawn one is gone.
            let r = store
                .reading(&id("gdp-growth"), period("2023-06"))
                .unwrap()
                .expect("gdp-growth 2023-06");
            assert_eq!((r.value, r.revision), (8.7, 2), "{}", want.name);
            assert_eq!(r.note.as_deref(), Some("核定"));
            assert_eq!(
                r.recorded_at.to_rfc3339(),
                want.revised_at.replace('Z', "+00:00")
            );
            let revs = store
                .revisions(&id("gdp-growth"), period("2023-06"))
                .unwrap();
            assert_eq!(revs.len(), 2);
            let r = store
                .reading(&id("gdp-growth"), period("2022-12"))
                .unwrap()
                .unwrap();
            assert_eq!(r.value, 7.9);
            let r = store
                .reading(&id("tech-sme-registered"), period("2023-Q3"))
                .unwrap()
                .unwrap();
            assert_eq!((r.value, r.recorded_by.as_str()), (108.0, "kgj"));
            let r = store
                .reading(&id("import-export-value"), period("2023-06"))
                .unwrap()
                .unwrap();
            assert_eq!(r.value, 7.1);
            assert!(store
                .reading(&id("tech-sme-registered"), period("2023-05"))
                .unwrap()
                .is_none());
            // Targets: the catalogue's, and the amended one.
            let t = store
                .target(&id("tech-sme-registered"), 2023)
                .unwrap()
                .expect("the amended target");
            assert_eq!(t.value, Some(160.0));
            let t = store.target(&id("gdp-growth"), 2023).unwrap().unwrap();
            assert_eq!(t.value, Some(8.0));
            // The audit trail, with the withdrawal and its reason.
            let log = store.audit_log().unwrap();
            assert_eq!(log.len(), want.audit_rows, "{}", want.name);
            let withdrawn: Vec<_> = log
                .iter()
                .filter(|(_, r)| {
                    matches!(&r.change, Change::Reading { new: None, old: Some(o), .. } if o.value == 66.0)
                })
                .collect();
            assert_eq!(withdrawn.len(), 1, "{}", want.name);
            assert_eq!(withdrawn[0].1.reason.as_deref(), Some("期别报错"));
            // Tokens and receivers.
            assert_eq!(store.token("kgj").unwrap().unwrap().role, Role::Submitter);
            let hooks: Vec<String> = store
                .webhooks()
                .unwrap()
                .into_iter()
                .map(|w| w.name)
                .collect();
            assert_eq!(hooks, want.webhooks, "{}", want.name);
            // The notifier's state, converted from format 2's raw keys.
            assert_eq!(
                store.notifier_state().unwrap(),
                want.notifier,
                "{}",
                want.name
            );
            if want.format >= 4 {
                // A note sent without a figure stays on its period; a flagged reading
                // keeps its flag and its history.
                let notes = store.notes(&id("tech-sme-registered"), None, None).unwrap();
                assert_eq!(notes.len(), 1, "{}", want.name);
                assert_eq!(notes[0].note, "数据待市科技局核实后补报");
                let flagged = store.flagged().unwrap();
                assert_eq!(flagged.len(), 1, "{}", want.name);
                let revs = store
                    .revisions(&id("new-above-scale-industrial-firms"), period("2023-09"))
                    .unwrap();
                assert_eq!(revs.len(), 1);
                assert_eq!(revs[0].0, flagged[0].0);
                let revs = store
                    .revisions(&id("tech-sme-registered"), period("2023-Q4"))
                    .unwrap();
                assert!(
                    matches!(revs[..], [(_, ref r)] if matches!(r.change, Change::Note { .. }))
                );
            }
            // The withdrawn reading keeps its history: its creation and its withdrawal.
            let revs = store
                .revisions(&id("tech-sme-registered"), period("2023-05"))
                .unwrap();
            assert_eq!(revs.len(), 2, "{}", want.name);
            let report = store.check().unwrap();
            assert!(report.ok(), "{}: {:?}", want.name, report.problems);
            assert_eq!(report.readings, want.readings);
        }
        // On disk: the current format, the old keys gone, and a backup beside the store
        // of what it held before.
        let after = raw(&db);
        assert_eq!(meta(&after, "format"), Some(vec![STORE_FORMAT]));
        for k in ["notify/alerts", "notify/cursor", "notify/remind_day"] {
            assert_eq!(meta(&after, k), None, "{}: {k}", want.name);
        }
        let backups = backups_beside(&db);
        assert_eq!(backups.len(), 1, "{}: {backups:?}", want.name);
        let name = backups[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(&format!("{}-format{}-", want.name, want.format)),
            "{name}"
        );
        let text = std::fs::read_to_string(&backups[0]).unwrap();
        assert!(text.ends_with("\n"));
        // The end record, then the digest trailer.
        let mut lines = text.lines().rev();
        let trailer: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(trailer["type"], "digest");
        let end: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(end["type"], "end");
        assert_eq!(end["indicators"], 203);
        assert_eq!(end["readings"], want.readings);
        assert_eq!(end["audit"], want.audit_rows);
        // It restores, and the restored store backs up to the same bytes.
        let restored = tmp.path().join("restored");
        run_ok(&[
            "restore",
            backups[0].to_str().unwrap(),
            "--db",
            restored.to_str().unwrap(),
        ]);
        let again = tmp.path().join("again.jsonl");
        run_ok(&[
            "backup",
            "--db",
            restored.to_str().unwrap(),
            "--out",
            again.to_str().unwrap(),
        ]);
        assert!(
            std::fs::read(&again).unwrap() == text.as_bytes(),
            "{}",
            want.name
        );
        // A second open has nothing to do and writes no second backup.
        {
            let _g = fork_guard();
            let store = Store::open(&db, CACHE).unwrap();
            assert_eq!(store.notifier_state().unwrap(), want.notifier);
        }
        assert_eq!(backups_beside(&db).len(), 1);
    }
}

#[test]
fn migrate_dry_run_describes_and_changes_nothing_then_migrate_upgrades_after_a_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_copy(tmp.path(), "store-v2");
    let d = db.to_str().unwrap();
    let before = raw(&db);

    let out = run_ok(&["migrate", "--db", d, "--dry-run"]);
    assert!(
        out.contains("store format 2; this release writes format 5"),
        "{out}"
    );
    // Every step, in order, each with what it finds in this store.
    let (first, second) = out.split_once("format 3 → 4").expect(&out);
    let (second, third) = second.split_once("format 4 → 5").expect(&out);
    assert!(
        third.contains("period index keys replaced by per-region counts: 18"),
        "{out}"
    );
    assert!(first.contains("format 2 → 3"), "{out}");
    assert!(first.contains("cursor: audit row 436"), "{out}");
    assert!(first.contains("last daily run: 2026-12-05"), "{out}");
    assert!(second.contains("webhooks converted: 1"), "{out}");
    assert!(
        second.contains("plans made from the targets of: 2023"),
        "{out}"
    );
    assert!(out.contains("Nothing was written"), "{out}");
    let v: Value =
        serde_json::from_str(&run_ok(&["migrate", "--db", d, "--dry-run", "--json"])).unwrap();
    assert_eq!(
        (v["stored"].as_u64(), v["current"].as_u64()),
        (Some(2), Some(5))
    );
    let steps: Vec<(u64, u64)> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["from"].as_u64().unwrap(), s["to"].as_u64().unwrap()))
        .collect();
    assert_eq!(steps, [(2, 3), (3, 4), (4, 5)]);
    // Nothing changed: every tree holds what it held, and no backup was written.
    assert!(raw(&db) == before, "--dry-run changed the store");
    assert!(backups_beside(&db).is_empty());

    let out = run_ok(&["migrate", "--db", d]);
    assert!(out.contains("upgraded from format 2 to 5"), "{out}");
    let backups = backups_beside(&db);
    assert_eq!(backups.len(), 1);
    assert!(
        out.contains(backups[0].to_str().unwrap()),
        "the backup's path is said: {out}"
    );
    let after = raw(&db);
    assert_eq!(meta(&after, "format"), Some(vec![STORE_FORMAT]));
    assert!(meta(&after, "notify/cursor").is_none());
    assert!(meta(&after, "notifier").is_some());
    assert_eq!(
        after
            .get(&b"plans"[..])
            .map(|t| t.keys().cloned().collect::<Vec<_>>()),
        Some(vec![b"taojiang-2023".to_vec()])
    );
    // Format 5 moved each reading's revisions into it and counted the periods.
    assert!(
        !after.contains_key(&b"by_period"[..]),
        "the period index is dropped"
    );
    assert!(
        after[&b"revisions"[..]].is_empty(),
        "no notes: an empty index"
    );
    assert_eq!(
        after[&b"periods"[..]].len(),
        4,
        "2022-12, 2023-03, 2023-06, 2023-09"
    );
    // Every other key but the notifier's is where it was (format 4 rewrote the values
    // and added the plan).
    let keys = |r: &Raw| -> BTreeMap<Vec<u8>, Vec<Vec<u8>>> {
        r.iter()
            .filter(|(name, t)| {
                !matches!(
                    name.as_slice(),
                    b"plans" | b"periods" | b"revisions" | b"by_period"
                ) && !t.is_empty()
            })
            .map(|(name, t)| {
                let ks = t.keys().filter(|k| {
                    !(name.as_slice() == b"meta"
                        && (k.starts_with(b"notify/") || k.as_slice() == b"notifier"))
                });
                (name.clone(), ks.cloned().collect())
            })
            .collect()
    };
    assert!(
        keys(&after) == keys(&before),
        "the upgrade moved more than the notifier's state"
    );
    // The store opens at format 5 with its content; migrating again has nothing to do.
    let report: Value = serde_json::from_str(&run_ok(&["check", "--db", d, "--json"])).unwrap();
    assert_eq!(report["problem_count"], 0, "{report}");
    assert_eq!(report["readings"], 18);
    let out = run_ok(&["migrate", "--db", d]);
    assert!(out.contains("already at format 5"), "{out}");
    assert!(run_ok(&["migrate", "--db", d, "--dry-run"]).contains("nothing to do"));
    assert_eq!(backups_beside(&db).len(), 1);

    // No store: an error, and nothing created.
    let none = tmp.path().join("none");
    let out = run(&["migrate", "--db", none.to_str().unwrap(), "--dry-run"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store at"));
    assert!(!none.exists());
}

#[test]
fn a_store_with_an_unreadable_value_is_copied_instead_of_backed_up_and_still_upgrades() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_copy(tmp.path(), "store-v2");
    let key = zhibiao::store::keys::reading(&id("gdp-growth"), period("2023-06"));
    {
        let _g = fork_guard();
        let sled_db = sled::Config::new().path(&db).open().unwrap();
        let readings = sled_db.open_tree("readings").unwrap();
        let mut v = readings.get(&key).unwrap().unwrap().to_vec();
        v[0] = 99;
        readings.insert(&key, v).unwrap();
        sled_db.flush().unwrap();
        drop((readings, sled_db));
    }
    let before = raw(&db);
    let out = run_ok(&["migrate", "--db", db.to_str().unwrap()]);
    assert!(out.contains("upgraded from format 2 to 5"), "{out}");
    assert!(out.contains("cannot be read"), "{out}");
    assert!(backups_beside(&db).is_empty());
    let copy: Vec<PathBuf> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "copy"))
        .collect();
    assert_eq!(copy.len(), 1, "{out}");
    assert!(out.contains(copy[0].to_str().unwrap()), "{out}");
    // The copy is the store as it was, format 2 and all (but for the empty trees of
    // later formats, such as `plans`, which opening the store with this build creates
    // before the upgrade starts).
    let filled = |mut r: Raw| {
        r.retain(|_, t| !t.is_empty());
        r
    };
    assert!(filled(raw(&copy[0])) == filled(before));
    assert_eq!(meta(&raw(&db), "format"), Some(vec![STORE_FORMAT]));
}

/// The built-in plan's indicators in the order of its document as they were when the
/// fixture stores were written (the frozen list the step to format 4 orders by; the seed
/// file has changed since), each with its group key.
fn seed_indicators() -> Vec<(String, String)> {
    include_str!("../src/store/taojiang-2023-format3-order.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (id, group) = l.split_once(' ').unwrap();
            (id.to_string(), group.to_string())
        })
        .collect()
}

#[test]
fn store_v3_becomes_the_taojiang_2023_plan_in_the_documents_order() {
    // What an upgrade would do, surveyed on a copy of its own: the one step 3 → 4,
    // converting every indicator, target, audit row and receiver, and nothing written.
    let tmp = tempfile::tempdir().unwrap();
    let fresh = fixture_copy(tmp.path(), "store-v3");
    let before = raw(&fresh);
    let survey = {
        let _g = fork_guard();
        zhibiao::store::migrate::survey(&fresh).unwrap()
    };
    assert_eq!((survey.stored, survey.current), (3, STORE_FORMAT));
    let steps: Vec<(u8, u8)> = survey.steps.iter().map(|s| (s.from, s.to)).collect();
    assert_eq!(steps, [(3, 4), (4, 5)]);
    assert_eq!(
        survey.steps[0].details,
        [
            "indicators converted: 203",
            "targets converted: 203",
            "audit converted: 437",
            "webhooks converted: 2",
            "plans made from the targets of: 2023",
        ]
    );
    assert!(raw(&fresh) == before, "the survey changed the store");

    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_copy(tmp.path(), "store-v3");
    let seed = seed_indicators();
    assert_eq!(seed.len(), 203);
    {
        let _g = fork_guard();
        let store = Store::open(&db, CACHE).unwrap();
        let report = store.check().unwrap();
        assert!(report.ok(), "{:?}", report.problems);
        assert_eq!(
            (
                report.indicators,
                report.targets,
                report.readings,
                report.audit,
                report.tokens
            ),
            (203, 203, 18, 437, 2)
        );

        // One plan: Taojiang's 2023 document, its six battles as groups in order.
        let plans = store.plans().unwrap();
        assert_eq!(plans.len(), 1, "{plans:?}");
        let plan = &plans[0];
        assert_eq!(plan.id.as_str(), "taojiang-2023");
        assert_eq!((plan.region.as_str(), plan.year), ("桃江县", 2023));
        assert_eq!(plan.title, "桃江县打好发展“六仗”实施方案");
        assert_eq!(plan.doc_number, "桃政办发〔2023〕4号");
        assert_eq!(plan.issuer, "桃江县人民政府办公室");
        let groups: Vec<(&str, &str)> = plan
            .groups
            .iter()
            .map(|g| (g.key.as_str(), g.name.as_str()))
            .collect();
        assert_eq!(
            groups,
            [
                ("growth", "经济增长主动仗"),
                ("innovation", "科技创新攻坚仗"),
                ("environment", "优化发展环境持久仗"),
                ("risk", "防范化解风险阻击仗"),
                ("safety", "安全生产巩固提升仗"),
                ("livelihood", "重点民生保障仗"),
            ]
        );

        // Every indicator: its battle became the group the seed gives it, and its one
        // target (2023) carries its entry in the plan, at its place in the document.
        let inds = store.indicators().unwrap();
        assert_eq!(inds.len(), 203);
        let mut positions = Vec::new();
        let mut entries = BTreeMap::new();
        for ind in &inds {
            let at = seed
                .iter()
                .position(|(id, _)| id == ind.id.as_str())
                .unwrap_or_else(|| panic!("{} is not in the seed", ind.id));
            assert_eq!(ind.group, seed[at].1, "{}", ind.id);
            let targets = store.targets(&ind.id).unwrap();
            assert_eq!(targets.len(), 1, "{}", ind.id);
            assert_eq!(targets[0].year, 2023);
            let e = targets[0]
                .plan
                .clone()
                .unwrap_or_else(|| panic!("the 2023 target of {} has no plan entry", ind.id));
            assert_eq!(e.plan.as_str(), "taojiang-2023", "{}", ind.id);
            assert_eq!(e.group, ind.group, "{}", ind.id);
            assert_eq!(e.position as usize, at + 1, "{}", ind.id);
            assert_eq!(e.lead_units, ind.lead_units, "{}", ind.id);
            assert_eq!(e.co_units, ind.co_units, "{}", ind.id);
            assert_eq!(e.source, ind.source, "{}", ind.id);
            assert_eq!(e.also_in, ind.also_in, "{}", ind.id);
            positions.push(e.position);
            entries.insert(ind.id.as_str().to_string(), e);
        }
        positions.sort_unstable();
        assert_eq!(positions, (1..=203).collect::<Vec<u32>>());
        assert_eq!(entries["gdp-growth"].position, 1);
        assert_eq!(entries["gdp-growth"].group, "growth");
        assert_eq!(entries["tech-sme-registered"].group, "innovation");

        // The amended target kept its figure, and its entry names the indicator's lead
        // unit.
        let tech = inds
            .iter()
            .find(|i| i.id.as_str() == "tech-sme-registered")
            .unwrap();
        let t = store.target(&tech.id, 2023).unwrap().unwrap();
        assert_eq!(
            (t.value, t.comparator),
            (Some(160.0), zhibiao::domain::Comparator::AtLeast)
        );
        assert_eq!(tech.lead_units, ["县科工局"]);
        assert_eq!(t.plan.as_ref().unwrap().lead_units, tech.lead_units);

        // The audit trail decodes, and its target rows (the 203 of the catalogue and
        // the amendment) carry the entries the targets carry.
        let log = store.audit_log().unwrap();
        assert_eq!(log.len(), 437);
        let mut target_rows = 0;
        let mut amended = 0;
        for (_, r) in &log {
            let Change::Target {
                indicator,
                year,
                old,
                new,
            } = &r.change
            else {
                continue;
            };
            target_rows += 1;
            assert_eq!(*year, 2023);
            for t in [old, new].into_iter().flatten() {
                assert_eq!(
                    t.plan.as_ref(),
                    Some(&entries[indicator.as_str()]),
                    "audit row of {indicator}"
                );
            }
            if indicator.as_str() == "tech-sme-registered" && old.is_some() {
                assert_eq!(new.as_ref().unwrap().value, Some(160.0));
                amended += 1;
            }
        }
        assert_eq!((target_rows, amended), (204, 1));

        // Receivers: the battle filter is a group filter now; the other keeps all.
        let hooks = store.webhooks().unwrap();
        let names: Vec<&str> = hooks.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["county-office", "innovation-desk"]);
        assert!(hooks[0].filter.groups.is_empty());
        assert_eq!(hooks[1].filter.groups, ["innovation"]);
        assert!(hooks[1].filter.lead_units.is_empty() && hooks[1].filter.severities.is_empty());
    }
    // On disk: the current format, one plan, and the withdrawal kept.
    let after = raw(&db);
    assert_eq!(meta(&after, "format"), Some(vec![STORE_FORMAT]));
    let keys = |tree: &str| -> Vec<Vec<u8>> {
        after
            .get(tree.as_bytes())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(keys("plans"), [b"taojiang-2023".to_vec()]);
    assert_eq!(keys("withdrawn").len(), 1);
}
