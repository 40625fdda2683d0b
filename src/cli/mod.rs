//! The `zhibiao` command line. `src/main.rs` calls [`main`]; everything else is here or
//! in the library proper.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::Utc;
use clap::{Parser, Subcommand};

mod migrate;
mod submit;
mod table;

use crate::api;
use crate::catalogue::Catalogue;
use crate::domain::{Battle, Period};
use crate::store::{hash_secret, new_secret, Role, Store, Token};

/// Environment variable holding the admin token.
pub const ADMIN_TOKEN_ENV: &str = "ZHIBIAO_ADMIN_TOKEN";
/// Default sled page-cache bound.
pub const DEFAULT_CACHE_MB: u64 = 256;

#[derive(Parser, Debug)]
#[command(
    name = "zhibiao",
    version,
    about = "Track yearly government targets (指标) against year-to-date readings"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the HTTP API. On an empty store, loads the built-in 2023 catalogue first.
    Serve {
        /// Store directory (created if missing).
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        /// Address to listen on. Use port 0 for any free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Bound on sled's page cache, in MiB.
        #[arg(long, default_value_t = DEFAULT_CACHE_MB)]
        cache_mb: u64,
        /// Require a token (any role) for reads too. Reads are public by default.
        #[arg(long)]
        private: bool,
        /// Allow browser pages from this origin to call the API (CORS), e.g.
        /// https://dash.example.gov.cn. Repeat for several. Off by default.
        #[arg(long = "cors-origin")]
        cors_origins: Vec<String>,
        /// Seconds a client may take to send a request body.
        #[arg(long, default_value_t = 30)]
        body_timeout_secs: u64,
        /// Announce the address as JSON on stdout (`{"listening": "http://…"}`) instead
        /// of the plain line.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        notify: NotifyArgs,
    },
    /// Create, list or revoke API tokens (with the server stopped; while it runs, use
    /// POST /v1/tokens).
    Token {
        #[command(subcommand)]
        action: TokenAction,
        #[arg(long, default_value = "./zhibiao-data", global = true)]
        db: PathBuf,
    },
    /// Load a catalogue TOML file (indicators, targets, units) into the store.
    Import {
        file: PathBuf,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Send readings to a running server: one reading, or a CSV/XLSX file as one batch.
    Submit {
        /// Indicator id (with PERIOD and VALUE), e.g. tech-sme-registered 2023-06 63.
        indicator: Option<String>,
        period: Option<String>,
        value: Option<f64>,
        /// A CSV (UTF-8 or GBK) or XLSX file with columns indicator,period,value[,status,note].
        #[arg(long, conflicts_with_all = ["indicator", "period", "value"])]
        csv: Option<PathBuf>,
        /// Observation status: A/final, P/provisional, E/estimated, F/forecast.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// Idempotency-Key for a file batch, so a retry never writes twice.
        #[arg(long)]
        idempotency_key: Option<String>,
        /// The server.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The token (default: the ZHIBIAO_TOKEN environment variable).
        #[arg(long, env = "ZHIBIAO_TOKEN", hide_env_values = true)]
        token: String,
        #[arg(long)]
        json: bool,
    },
    /// Write the monthly bulletin (月通报) or the quarter-end summary (季总结).
    Report {
        /// Period of the bulletin; default: the latest with readings.
        #[arg(long)]
        as_of: Option<String>,
        /// md, html, csv, docx or xlsx.
        #[arg(long, default_value = "md")]
        format: String,
        /// monthly (月通报) or quarterly (季总结, at a quarter end).
        #[arg(long, default_value = "monthly")]
        kind: String,
        /// Write to this file instead of standard output (docx and xlsx need a file,
        /// or a pipe).
        #[arg(long, short)]
        out: Option<PathBuf>,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        /// Print where the bulletin went as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a consistent snapshot of the store as JSON Lines (see docs/reliability.md).
    Backup {
        /// Where to write; `-` for standard output.
        #[arg(long, short)]
        out: PathBuf,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Create a store from a backup. The store path must not hold a store yet; the
    /// built-in catalogue is not loaded into it.
    Restore {
        file: PathBuf,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Upgrade a store written by an earlier release to this release's format, after
    /// writing a backup of it beside its directory; with --dry-run, only say what that
    /// would do. (serve and the other commands upgrade on open in the same way.)
    Migrate(migrate::MigrateArgs),
    /// Verify a store: every value decodes and the audit trail agrees with the readings.
    Check {
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The daily digest of each lead unit (overdue figures and those falling due soon):
    /// print it with --dry-run, or send it through the registered webhooks (with the
    /// server stopped; a running server sends it daily at --remind-at).
    Remind {
        /// The day (default: today in --remind-tz).
        #[arg(long)]
        on: Option<chrono::NaiveDate>,
        /// Only this lead unit.
        #[arg(long)]
        lead_unit: Option<String>,
        /// Print what would be sent, and to which receivers; send nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        notify: NotifyArgs,
    },
    /// Print attainment of every indicator.
    Attainment {
        /// Period to evaluate at (2023-06, 2023-Q2, 2023年1-6月); default: the latest with readings.
        #[arg(long)]
        as_of: Option<String>,
        /// Only one battle: growth, innovation, environment, risk, safety, livelihood.
        #[arg(long)]
        battle: Option<String>,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Webhook delivery and reminder settings.
#[derive(clap::Args, Debug, Clone)]
struct NotifyArgs {
    /// Wait before retrying a failed webhook delivery, in milliseconds; each later retry
    /// waits twice as long (at most an hour).
    #[arg(long, default_value_t = 30_000)]
    webhook_backoff_ms: u64,
    /// Attempts per webhook message before it is given up (logged as failed).
    #[arg(long, default_value_t = 8)]
    webhook_attempts: u32,
    /// Seconds one delivery attempt may take, connection included.
    #[arg(long, default_value_t = 10)]
    webhook_timeout_secs: u64,
    /// Local time of the daily digests and 催报 notices (HH:MM).
    #[arg(long, default_value = "08:30")]
    remind_at: String,
    /// Time zone of --remind-at and of "today" for reminders (an IANA name).
    #[arg(long, default_value = "Asia/Shanghai")]
    remind_tz: String,
    /// Days ahead a digest looks for figures falling due.
    #[arg(long, default_value_t = 3)]
    remind_days: u32,
}

impl NotifyArgs {
    fn config(&self) -> Result<crate::notify::deliver::NotifyConfig, Box<dyn std::error::Error>> {
        let remind_at =
            chrono::NaiveTime::parse_from_str(&self.remind_at, "%H:%M").map_err(|_| {
                format!(
                    "--remind-at '{}' is not a time such as 08:30",
                    self.remind_at
                )
            })?;
        let tz: chrono_tz::Tz = self.remind_tz.parse().map_err(|_| {
            format!(
                "--remind-tz '{}' is not a time zone name such as Asia/Shanghai",
                self.remind_tz
            )
        })?;
        if self.webhook_attempts == 0 {
            return Err("--webhook-attempts must be at least 1".into());
        }
        if self.remind_days > api::webhooks::MAX_REMIND_DAYS {
            return Err(format!(
                "--remind-days must be at most {}",
                api::webhooks::MAX_REMIND_DAYS
            )
            .into());
        }
        Ok(crate::notify::deliver::NotifyConfig {
            backoff: std::time::Duration::from_millis(self.webhook_backoff_ms.max(1)),
            max_attempts: self.webhook_attempts,
            timeout: std::time::Duration::from_secs(self.webhook_timeout_secs.max(1)),
            remind_at,
            tz,
            remind_days: self.remind_days,
            ..Default::default()
        })
    }
}

#[derive(Subcommand, Debug)]
enum TokenAction {
    /// Create a token and print its secret once.
    Create {
        /// admin, submitter or reader.
        #[arg(long)]
        role: String,
        /// A unit the submitter writes for (repeat for several); 县统计局 writes all.
        #[arg(long = "unit")]
        units: Vec<String>,
        /// A name for the token, e.g. kgj.
        #[arg(long)]
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tokens (names, roles and units; never secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by name.
    Revoke {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Serve {
            db,
            addr,
            cache_mb,
            private,
            cors_origins,
            body_timeout_secs,
            json,
            notify,
        } => notify.config().and_then(|notify| {
            serve(
                &db,
                addr,
                cache_mb,
                ServeOptions {
                    private,
                    cors_origins,
                    body_timeout: std::time::Duration::from_secs(body_timeout_secs.max(1)),
                    json,
                    notify,
                },
            )
        }),
        Command::Remind {
            on,
            lead_unit,
            dry_run,
            db,
            json,
            notify,
        } => notify
            .config()
            .and_then(|cfg| remind(&db, on, lead_unit.as_deref(), dry_run, json, cfg)),
        Command::Token { action, db } => token(&db, action),
        Command::Import { file, db, json } => import(&file, &db, json),
        Command::Submit {
            indicator,
            period,
            value,
            csv,
            status,
            note,
            idempotency_key,
            url,
            token,
            json,
        } => {
            let target = submit::Target { url, token };
            let result = match (csv, indicator, period, value) {
                (Some(path), _, _, _) => submit::file(&target, &path, idempotency_key.as_deref()),
                (None, Some(i), Some(p), Some(v)) => {
                    submit::one(&target, &i, &p, v, status.as_deref(), note.as_deref())
                }
                _ => Err("give INDICATOR PERIOD VALUE, or --csv FILE".into()),
            };
            result.and_then(|v| print_submitted(&v, json))
        }
        Command::Attainment {
            as_of,
            battle,
            db,
            json,
        } => attainment(&db, as_of.as_deref(), battle.as_deref(), json),
        Command::Backup { out, db, json } => backup(&db, &out, json),
        Command::Restore { file, db, json } => restore(&file, &db, json),
        Command::Check { db, json } => check(&db, json),
        Command::Migrate(args) => migrate::run(args),
        Command::Report {
            as_of,
            format,
            kind,
            out,
            db,
            json,
        } => report(&db, as_of.as_deref(), &format, &kind, out.as_deref(), json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`| head`): nothing more to say, and no error to report.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("zhibiao: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// `println!` that returns an error instead of panicking when stdout is gone (a closed
/// pipe, as in `zhibiao attainment | head`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

/// `print!` with the same behaviour as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?
    }};
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn open(db: &Path) -> Result<Store, Box<dyn std::error::Error>> {
    Ok(Store::open(db, DEFAULT_CACHE_MB * 1024 * 1024)?)
}

/// `serve`'s behaviour switches.
#[derive(Debug)]
struct ServeOptions {
    private: bool,
    cors_origins: Vec<String>,
    body_timeout: std::time::Duration,
    json: bool,
    notify: crate::notify::deliver::NotifyConfig,
}

fn serve(db: &Path, addr: SocketAddr, cache_mb: u64, opts: ServeOptions) -> CliResult {
    let private = opts.private;
    // Check every option before touching the store or announcing anything.
    for o in &opts.cors_origins {
        let rest = o
            .strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
            .unwrap_or("");
        if rest.is_empty() || rest.contains('/') {
            return Err(format!(
                "--cors-origin '{o}' must look like https://host[:port], with no path"
            )
            .into());
        }
    }
    let store = Store::open(db, cache_mb * 1024 * 1024)?;
    if !store.is_seeded()? {
        let cat = Catalogue::builtin()?;
        let report = store.import_catalogue(&cat, "catalogue", Utc::now())?;
        store.flush()?;
        tracing::info!(
            indicators = report.indicators_created,
            document = %cat.document,
            "empty store: loaded the built-in catalogue"
        );
    }
    ensure_admin_token(&store, db, std::env::var(ADMIN_TOKEN_ENV).ok().as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        if !local.ip().is_loopback() && !private {
            tracing::warn!(%local, "listening on a non-loopback address while reads are public; add --private to require tokens for reads");
        }
        tracing::info!(db = %db.display(), "zhibiao listening on http://{local}");
        // One line on stdout, for scripts that start the server on port 0.
        if opts.json {
            outln!("{}", serde_json::json!({"listening": format!("http://{local}"), "db": db}));
        } else {
            outln!("zhibiao listening on http://{local}");
        }
        let _ = std::io::stdout().flush();
        let mut ctx = api::Context::new(store.clone());
        ctx.private = private;
        ctx.body_timeout = opts.body_timeout;
        ctx.cors_origins = opts.cors_origins;
        ctx.notify = std::sync::Arc::new(crate::notify::deliver::Hub::new(opts.notify));
        let ctx: api::Ctx = ctx.into();
        api::notifier::start(&ctx);
        api::serve(ctx, listener, shutdown_signal()).await;
        store.flush()?;
        tracing::info!("stopped; store flushed");
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Makes sure an admin token exists. With `ZHIBIAO_ADMIN_TOKEN` set, that secret is the
/// admin token. Otherwise the first start generates one, stores only its hash, and
/// writes the secret once to `<db>/admin-token` (mode 0600).
pub fn ensure_admin_token(store: &Store, db: &Path, env_token: Option<&str>) -> CliResult {
    let existing = store.token("admin")?;
    if let Some(secret) = env_token.map(str::trim).filter(|s| !s.is_empty()) {
        let hash = hex::encode(hash_secret(secret));
        if existing.as_ref().map(|t| &t.hash) != Some(&hash) {
            store.put_token(
                &Token {
                    name: "admin".into(),
                    role: Role::Admin,
                    units: vec![],
                    hash,
                    created_at: Utc::now(),
                },
                true,
            )?;
            store.flush()?;
        }
        tracing::info!("admin token taken from {ADMIN_TOKEN_ENV}");
        return Ok(());
    }
    if existing.is_some() {
        return Ok(());
    }
    let secret = new_secret();
    let path = db.join("admin-token");
    write_private(&path, &format!("{secret}\n"))?;
    store.put_token(
        &Token {
            name: "admin".into(),
            role: Role::Admin,
            units: vec![],
            hash: hex::encode(hash_secret(&secret)),
            created_at: Utc::now(),
        },
        true,
    )?;
    store.flush()?;
    tracing::warn!(
        path = %path.display(),
        "generated an admin token; it is written once to this file (mode 0600). Keep it, then delete the file"
    );
    Ok(())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

fn token(db: &Path, action: TokenAction) -> CliResult {
    use crate::api::tokens::{mint, parse_role, resolve_units, valid_name};
    let store = open(db)?;
    match action {
        TokenAction::Create {
            role,
            units,
            name,
            json,
        } => {
            valid_name(&name)?;
            let role = parse_role(&role)?;
            let units = resolve_units(&store.units()?, role, &units)?;
            let (tok, secret) = mint(&name, role, units, Utc::now());
            store.put_token(&tok, false)?;
            store.flush()?;
            if json {
                let out = serde_json::json!({"token": secret, "name": tok.name, "role": tok.role, "units": tok.units});
                outln!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                outln!("{secret}");
                eprintln!(
                    "created {} token '{}'{}; the secret above is shown only once",
                    role.as_str(),
                    tok.name,
                    if tok.units.is_empty() {
                        String::new()
                    } else {
                        format!(" for {}", tok.units.join("、"))
                    }
                );
            }
        }
        TokenAction::List { json } => {
            let tokens = store.tokens()?;
            if json {
                let views: Vec<_> = tokens
                    .iter()
                    .map(crate::api::tokens::TokenView::from)
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&views)?);
            } else {
                for t in tokens {
                    outln!(
                        "{:<24} {:<10} {}",
                        t.name,
                        t.role.as_str(),
                        t.units.join("、")
                    );
                }
            }
        }
        TokenAction::Revoke { name, json } => match store.revoke_token(&name)? {
            Some(t) => {
                store.flush()?;
                if json {
                    let v = serde_json::json!({"revoked": crate::api::tokens::TokenView::from(&t)});
                    outln!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    outln!("revoked '{name}'");
                }
            }
            None => return Err(format!("no token named '{name}'").into()),
        },
    }
    Ok(())
}

fn print_submitted(v: &serde_json::Value, json: bool) -> CliResult {
    if json {
        outln!("{}", serde_json::to_string_pretty(v)?);
    } else if let Some(outcome) = v.get("outcome").and_then(|o| o.as_str()) {
        outln!(
            "{} {} {} = {} (revision {})",
            outcome,
            v["indicator"].as_str().unwrap_or(""),
            v["period"].as_str().unwrap_or(""),
            v["value"],
            v["revision"]
        );
    } else {
        outln!(
            "created {}, replaced {}, unchanged {}, skipped {}, rejected {}",
            v["created"],
            v["replaced"],
            v["unchanged"],
            v["skipped"],
            v["rejected"]
        );
        for e in v["errors"].as_array().into_iter().flatten() {
            eprintln!(
                "  row {}: {}: {}",
                e["row"],
                e["field"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

fn import(file: &Path, db: &Path, json: bool) -> CliResult {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!("validating {}", file.display()));
    let cat = Catalogue::parse(&text)?;
    let store = open(db)?;
    bar.set_message(format!("writing {} indicators", cat.entries.len()));
    let report = store.import_catalogue(&cat, "import", Utc::now())?;
    store.flush()?;
    bar.finish_and_clear();
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    outln!(
        "imported {}: {} indicators created, {} replaced, {} unchanged; {} targets written",
        file.display(),
        report.indicators_created,
        report.indicators_replaced,
        report.indicators_unchanged,
        report.targets_written
    );
    Ok(())
}

fn backup(db: &Path, out: &Path, json: bool) -> CliResult {
    let store = open_existing(db)?;
    let counts = if out == Path::new("-") {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        store.backup(&mut w)?
    } else {
        // Write beside the target, then rename: a failed backup never leaves a
        // truncated file under the final name.
        let tmp = out.with_extension("partial");
        let mut w = std::io::BufWriter::new(
            std::fs::File::create(&tmp)
                .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?,
        );
        let counts = store.backup(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, out)?;
        counts
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&counts)?);
    } else if out != Path::new("-") {
        eprintln!(
            "backed up {} indicators, {} targets, {} readings, {} audit rows, {} tokens to {}",
            counts.indicators,
            counts.targets,
            counts.readings,
            counts.audit,
            counts.tokens,
            out.display()
        );
    }
    Ok(())
}

fn restore(file: &Path, db: &Path, json: bool) -> CliResult {
    if db.exists() && std::fs::read_dir(db)?.next().is_some() {
        return Err(format!(
            "{} is not empty: restore creates a new store; give a path with no store",
            db.display()
        )
        .into());
    }
    let input = std::io::BufReader::new(
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?,
    );
    let store = open(db)?;
    let counts = match store.restore(input) {
        Ok(c) => c,
        Err(e) => {
            drop(store);
            let _ = std::fs::remove_dir_all(db);
            return Err(format!("restore failed, nothing kept: {e}").into());
        }
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&counts)?);
    } else {
        outln!(
            "restored {} indicators, {} targets, {} readings, {} audit rows, {} tokens into {}",
            counts.indicators,
            counts.targets,
            counts.readings,
            counts.audit,
            counts.tokens,
            db.display()
        );
    }
    Ok(())
}

fn check(db: &Path, json: bool) -> CliResult {
    let store = open_existing(db)?;
    let report = store.check()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "checked {} indicators, {} targets, {} readings, {} audit rows, {} units, {} tokens: {}",
            report.indicators,
            report.targets,
            report.readings,
            report.audit,
            report.units,
            report.tokens,
            if report.ok() { "ok".to_string() } else { format!("{} problems", report.problem_count) }
        );
        for p in &report.problems {
            outln!("  {p}");
        }
    }
    if report.ok() {
        Ok(())
    } else {
        Err(format!("{} problems found", report.problem_count).into())
    }
}

/// Opens a store that must already exist (backup, check): never creates an empty one.
fn open_existing(db: &Path) -> Result<Store, Box<dyn std::error::Error>> {
    if !db.join("conf").exists() && !db.join("db").exists() {
        return Err(format!("no store at {}", db.display()).into());
    }
    open(db)
}

fn report(
    db: &Path,
    as_of: Option<&str>,
    format: &str,
    kind: &str,
    out: Option<&Path>,
    json: bool,
) -> CliResult {
    use crate::report::bulletin::{Format, Kind};
    use std::io::IsTerminal;
    let format: Format = format.parse()?;
    let kind: Kind = kind.parse()?;
    let as_of: Option<Period> = as_of.map(str::parse).transpose()?;
    let store = open(db)?;
    let as_of = match as_of {
        Some(p) => p,
        None => api::default_as_of(&store)?
            .ok_or("the store holds no readings and no targets; give --as-of")?,
    };
    let (bytes, name) = api::pages::render_report(&store, kind, as_of, format)?;
    match out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            if json {
                let v = serde_json::json!({"as_of": as_of, "kind": kind.as_str(), "format": format.extension(), "path": path, "bytes": bytes.len()});
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                eprintln!(
                    "wrote {} ({} bytes; suggested name {name})",
                    path.display(),
                    bytes.len()
                );
            }
        }
        None => {
            let binary = matches!(format, Format::Docx | Format::Xlsx);
            if binary && std::io::stdout().is_terminal() {
                return Err(format!(
                    "a {} bulletin is binary: give --out {name}",
                    format.extension()
                )
                .into());
            }
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}

/// `zhibiao remind`: the digests of `on`, printed (`--dry-run`) or sent.
fn remind(
    db: &Path,
    on: Option<chrono::NaiveDate>,
    lead_unit: Option<&str>,
    dry_run: bool,
    json: bool,
    cfg: crate::notify::deliver::NotifyConfig,
) -> CliResult {
    use crate::notify::message::render;
    use crate::notify::webhook::{redact, EventKind};
    let store = open_existing(db)?;
    let now = Utc::now();
    let on = on.unwrap_or_else(|| now.with_timezone(&cfg.tz).date_naive());
    let unit = match lead_unit {
        Some(u) => Some(store.units()?.resolve(u).to_string()),
        None => None,
    };
    let days = cfg.remind_days;
    let digests = crate::notify::digests(&store, on, days, unit.as_deref(), now)?;
    let hooks: Vec<_> = store
        .webhooks()?
        .into_iter()
        .filter(|h| h.events.contains(&EventKind::Reminder))
        .collect();
    if json {
        let list: Vec<serde_json::Value> = digests
            .iter()
            .map(|e| {
                let to: Vec<serde_json::Value> = hooks
                    .iter()
                    .filter_map(|h| {
                        e.filtered(&h.filter).map(|f| {
                            serde_json::json!({
                                "webhook": h.name,
                                "format": h.format,
                                "url": redact(&h.url),
                                "body": render(&f, h.format, &h.name, &h.url),
                            })
                        })
                    })
                    .collect();
                serde_json::json!({
                    "lead_unit": e.to,
                    "title": e.title(),
                    "text": e.text(),
                    "items": e.items,
                    "receivers": to,
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "on": on,
                "days": days,
                "dry_run": dry_run,
                "count": list.len(),
                "digests": list,
            }))?
        );
    } else {
        if digests.is_empty() {
            outln!("{on}: no lead unit has an overdue figure or one due within {days} days.");
        }
        for e in &digests {
            outln!("── {} ──", e.to.as_deref().unwrap_or(""));
            outln!("{}", e.text());
            let to: Vec<String> = hooks
                .iter()
                .filter(|h| e.filtered(&h.filter).is_some())
                .map(|h| format!("{} ({})", h.name, h.format.as_str()))
                .collect();
            if to.is_empty() {
                outln!("→ no receiver takes this digest");
            } else {
                outln!("→ {}", to.join(", "));
            }
            outln!();
        }
    }
    if dry_run {
        return Ok(());
    }
    let hub = std::sync::Arc::new(crate::notify::deliver::Hub::new(cfg));
    let mut queued = 0;
    for e in &digests {
        queued += hub.enqueue(&store, &hooks, e, now)?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcomes = rt.block_on(hub.drain(store.clone(), std::sync::Arc::new(Utc::now)));
    store.flush()?;
    let delivered = outcomes
        .iter()
        .filter(|o| **o == crate::store::DeliveryOutcome::Delivered)
        .count();
    let msg = format!(
        "sent {delivered} of {queued} messages; the rest stay queued for `zhibiao serve` to retry (GET /v1/webhooks/{{name}}/deliveries shows why)"
    );
    if json {
        eprintln!("{msg}");
    } else {
        outln!("{msg}");
    }
    Ok(())
}

fn attainment(db: &Path, as_of: Option<&str>, battle: Option<&str>, json: bool) -> CliResult {
    let battle: Option<Battle> = battle.map(str::parse).transpose()?;
    let as_of: Option<Period> = as_of.map(str::parse).transpose()?;
    let store = open(db)?;
    let as_of = match as_of {
        Some(p) => p,
        None => api::default_as_of(&store)?
            .ok_or("the store holds no readings and no targets; give --as-of")?,
    };
    let rows: Vec<_> = api::evaluate_all(&store, as_of, None)?
        .into_iter()
        .filter(|(i, _)| battle.is_none_or(|b| i.battle == b))
        .collect();
    if json {
        let views: Vec<_> = rows
            .iter()
            .map(|(i, a)| api::views::AttainmentView::new(i, a))
            .collect();
        let out = api::views::AttainmentList {
            as_of,
            year: as_of.year(),
            count: views.len(),
            attainment: &views,
        };
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    outln!("as_of {as_of}  ({} indicators)", rows.len());
    let mut t = table::Table::new(
        &["指标", "实际", "目标", "完成率", "序时", "状态", "牵头单位"],
        &[false, true, true, true, true, false, false],
    );
    let num = |v: Option<f64>| v.map_or("-".to_string(), crate::engine::alerts::fmt_num);
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0));
    for (ind, a) in &rows {
        t.row(vec![
            (ind.name.clone(), None),
            (num(a.actual), None),
            (num(a.target.as_ref().and_then(|t| t.value)), None),
            (pct(a.attainment), None),
            (pct(a.scheduled_pace), None),
            (
                a.status.label_zh().to_string(),
                Some(table::status_style(a.status)),
            ),
            (ind.lead_units.join("、"), None),
        ]);
    }
    out!("{}", t.render());
    Ok(())
}
