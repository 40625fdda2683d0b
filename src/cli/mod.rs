//! The `zhibiao` command line. `src/main.rs` calls [`main`]; everything else is here or
//! in the library proper.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::store::Store;

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
    Serve(ServeArgs),
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
        #[arg(value_parser = number_arg)]
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

/// A number argument: finite, and not so close to zero that it would be sent as 0.
fn number_arg(s: &str) -> Result<f64, String> {
    crate::domain::number::parse("value", s).map_err(|e| e.message().to_string())
}

/// The flags of `zhibiao serve` (see [`serve::ServeConfig::from_args`]).
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Store directory (created if missing).
    #[arg(long, default_value = "./zhibiao-data")]
    pub db: PathBuf,
    /// Address to listen on. Use port 0 for any free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Bound on sled's page cache, in MiB.
    #[arg(long, default_value_t = DEFAULT_CACHE_MB)]
    pub cache_mb: u64,
    /// Require a token (any role) for reads too. Reads are public by default.
    #[arg(long)]
    pub private: bool,
    /// Allow browser pages from this origin to call the API (CORS), e.g.
    /// https://dash.example.gov.cn. Repeat for several. Off by default.
    #[arg(long = "cors-origin")]
    pub cors_origins: Vec<String>,
    /// Seconds a client may take to send a request body.
    #[arg(long, default_value_t = 30)]
    pub body_timeout_secs: u64,
    /// Announce the address as JSON on stdout (`{"listening": "http://…"}`) instead
    /// of the plain line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub notify: NotifyArgs,
}

impl ServeArgs {
    /// The checked configuration, with the system clock in `--tz` and the admin
    /// secret from `ZHIBIAO_ADMIN_TOKEN`.
    pub fn config(&self) -> Result<serve::ServeConfig, Box<dyn std::error::Error>> {
        let (notify, tz) = self.notify.config()?;
        Ok(serve::ServeConfig {
            db: self.db.clone(),
            addr: self.addr,
            cache_mb: self.cache_mb,
            private: self.private,
            cors_origins: self.cors_origins.clone(),
            body_timeout: std::time::Duration::from_secs(self.body_timeout_secs.max(1)),
            notify,
            clock: crate::clock::Clock::system(tz),
            admin_token: std::env::var(ADMIN_TOKEN_ENV).ok(),
            auth_throttle: None,
        })
    }
}

/// Webhook delivery and reminder settings.
#[derive(clap::Args, Debug, Clone)]
pub struct NotifyArgs {
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
    /// The time zone of "today" and "this month" everywhere (periods not yet ended,
    /// the reporting calendar, 催报 notices, --remind-at), an IANA name.
    /// `--remind-tz` is an alias.
    #[arg(
        long = "tz",
        visible_alias = "remind-tz",
        default_value = "Asia/Shanghai"
    )]
    tz: String,
    /// Days ahead a digest looks for figures falling due.
    #[arg(long, default_value_t = 3)]
    remind_days: u32,
    /// Allow webhook receivers at loopback (127.0.0.0/8, ::1), link-local
    /// (169.254.0.0/16, fe80::/10) and unspecified addresses, and at the server's own
    /// address. Off by default: a receiver is another machine. Private ranges
    /// (10/8, 172.16/12, 192.168/16) are allowed either way.
    #[arg(long)]
    allow_internal_webhooks: bool,
}

impl NotifyArgs {
    fn config(
        &self,
    ) -> Result<(crate::notify::deliver::NotifyConfig, chrono_tz::Tz), Box<dyn std::error::Error>>
    {
        let remind_at =
            chrono::NaiveTime::parse_from_str(&self.remind_at, "%H:%M").map_err(|_| {
                format!(
                    "--remind-at '{}' is not a time such as 08:30",
                    self.remind_at
                )
            })?;
        let tz = crate::clock::Clock::parse_tz(&self.tz).map_err(|e| format!("--tz {e}"))?;
        if self.webhook_attempts == 0 {
            return Err("--webhook-attempts must be at least 1".into());
        }
        if self.remind_days > crate::notify::MAX_REMIND_DAYS {
            return Err(format!(
                "--remind-days must be at most {}",
                crate::notify::MAX_REMIND_DAYS
            )
            .into());
        }
        Ok((
            crate::notify::deliver::NotifyConfig {
                backoff: std::time::Duration::from_millis(self.webhook_backoff_ms.max(1)),
                max_attempts: self.webhook_attempts,
                timeout: std::time::Duration::from_secs(self.webhook_timeout_secs.max(1)),
                remind_at,
                remind_days: self.remind_days,
                allow_internal: self.allow_internal_webhooks,
                ..Default::default()
            },
            tz,
        ))
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
        Command::Serve(args) => args.config().and_then(|cfg| serve::serve(cfg, args.json)),
        Command::Remind {
            on,
            lead_unit,
            dry_run,
            db,
            json,
            notify,
        } => notify.config().and_then(|(cfg, tz)| {
            remind::remind(&db, on, lead_unit.as_deref(), dry_run, json, cfg, tz)
        }),
        Command::Token { action, db } => token::token(&db, action),
        Command::Import { file, db, json } => import::import(&file, &db, json),
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
            result.and_then(|v| submit::print_submitted(&v, json))
        }
        Command::Attainment {
            as_of,
            battle,
            db,
            json,
        } => attainment::attainment(&db, as_of.as_deref(), battle.as_deref(), json),
        Command::Backup { out, db, json } => backup::backup(&db, &out, json),
        Command::Restore { file, db, json } => backup::restore(&file, &db, json),
        Command::Check { db, json } => backup::check(&db, json),
        Command::Migrate(args) => migrate::run(args),
        Command::Report {
            as_of,
            format,
            kind,
            out,
            db,
            json,
        } => report::report(&db, as_of.as_deref(), &format, &kind, out.as_deref(), json),
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

mod attainment;
mod backup;
mod import;
mod migrate;
mod remind;
mod report;
pub mod serve;
mod submit;
mod table;
mod token;

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

/// Opens a store that must already exist (backup, check): never creates an empty one.
fn open_existing(db: &Path) -> Result<Store, Box<dyn std::error::Error>> {
    if !db.join("conf").exists() && !db.join("db").exists() {
        return Err(format!("no store at {}", db.display()).into());
    }
    open(db)
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
