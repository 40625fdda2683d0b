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
/// The shortest admin secret accepted, in characters: a short one is guessed long
/// before the per-address throttle matters.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;
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

/// `zhibiao plan …`
#[derive(Subcommand, Debug)]
enum PlanAction {
    /// Write next year's plan as a spreadsheet: every indicator of this year's plan, with
    /// this year's target and last figure beside an empty 年度目标 column, ready to fill
    /// in and import.
    Draft {
        /// The year of the plan to start from.
        #[arg(long)]
        from: u16,
        /// The year to draft (default: the next).
        #[arg(long)]
        year: Option<u16>,
        /// The region (default: the store's home region).
        #[arg(long)]
        region: Option<String>,
        /// Where to write it (default: <地区><年度>年指标库（草稿）.xlsx).
        #[arg(long, short)]
        out: Option<PathBuf>,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
    },
    /// List the plans in the store.
    List {
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        #[arg(long)]
        json: bool,
    },
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
    /// Load a plan into the store: an office's 指标库 spreadsheet (.xlsx, or .csv in
    /// UTF-8 or GBK; see docs/catalogue.md), or a catalogue TOML file.
    Import {
        file: PathBuf,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        /// Say what each row would do, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The plan's region (地区), if the sheet has no 方案 sheet saying it.
        #[arg(long)]
        region: Option<String>,
        /// The plan's year (年度).
        #[arg(long)]
        year: Option<u16>,
        /// The plan's title (方案名称), as bulletins cite it.
        #[arg(long)]
        document: Option<String>,
        /// The parent region (上级地区) of a region not yet registered.
        #[arg(long)]
        parent: Option<String>,
        /// The plan's id (方案代码); by default the region's pinyin and the year.
        #[arg(long)]
        plan: Option<String>,
        /// Answer in English.
        #[arg(long, value_parser = ["zh", "en"], default_value = "zh")]
        lang: String,
        #[arg(long)]
        json: bool,
    },
    /// Write a blank spreadsheet to fill in: `zhibiao template plan` (the 指标库).
    Template {
        /// What to write: plan.
        #[arg(value_parser = ["plan"])]
        what: String,
        /// Where to write it.
        #[arg(long, short, default_value = "指标库模板.xlsx")]
        out: PathBuf,
    },
    /// Plans: draft next year's from this year's.
    Plan {
        #[command(subcommand)]
        action: PlanAction,
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
        /// The language of what is printed, and of the server's messages.
        #[arg(long, value_parser = ["zh", "en"], default_value = "zh")]
        lang: String,
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
        /// or a pipe). A directory: the file in it under the bulletin's title
        /// (桃江县2023年6月重点指标监测通报.docx).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The issue date (成文日期) printed at the head and the end, e.g. 2023-07-12;
        /// default: today in --tz.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// The time zone of "today", an IANA name.
        #[arg(long, default_value = "Asia/Shanghai")]
        tz: String,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        /// Print where the bulletin went as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a consistent snapshot of the store as JSON Lines, ending with a digest of
    /// its content (see docs/reliability.md).
    Backup {
        /// Where to write; `-` for standard output.
        #[arg(long, short)]
        out: PathBuf,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        /// Also seal the backup with an HMAC-SHA256 under the key in this file (at least
        /// 16 bytes; trailing whitespace is ignored). Restore then needs the same key.
        #[arg(long, env = backup::BACKUP_KEY_FILE_ENV)]
        hmac_key_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Create a store from a backup, after verifying its digest (and its HMAC, with
    /// --hmac-key-file), and check it. The store path must not exist or be an empty
    /// directory; on failure it is left as it was. The built-in catalogue is not
    /// loaded into it.
    Restore {
        file: PathBuf,
        #[arg(long, default_value = "./zhibiao-data")]
        db: PathBuf,
        /// The key the backup was written with. A backup with an HMAC is refused without
        /// it; with it, a backup without an HMAC is refused.
        #[arg(long, env = backup::BACKUP_KEY_FILE_ENV)]
        hmac_key_file: Option<PathBuf>,
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
        /// Only one group of the plan, by key or name (growth, 经济增长主动仗; `--battle`
        /// is the same).
        #[arg(long, alias = "battle")]
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
    /// When figures become public. `reviewed` (the default): a month's figures are
    /// seen only by their units, the county statistics bureau and admins until the
    /// bureau reviews (审核) and releases (发布) the month. `immediate`: every figure
    /// is public once acknowledged, for an office that reviews and releases elsewhere.
    #[arg(long, value_enum, default_value_t = crate::api::Publish::Reviewed)]
    pub publish: crate::api::Publish,
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
    /// Open connections the server accepts at once; more are answered 503.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Open connections from one client address; more are answered 503. A reverse
    /// proxy is one address: give it room.
    #[arg(long, default_value_t = 256)]
    pub max_connections_per_address: usize,
    /// Seconds a client may take to send a request's head, and the longest idle time
    /// of a kept-alive connection.
    #[arg(long, default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// MiB of request bodies held in memory at once, server-wide; a body that finds
    /// no room within 5 s is answered 503.
    #[arg(long, default_value_t = 64)]
    pub body_budget_mb: u64,
    /// A reverse proxy (address or network, e.g. 10.0.0.5 or 10.0.0.0/8) whose
    /// X-Forwarded-For / Forwarded headers name the client, for the throttle of wrong
    /// tokens. Repeat for several. Off by default: the peer is the client.
    #[arg(long = "trust-proxy")]
    pub trust_proxy: Vec<crate::api::peer::IpNet>,
    /// The 发文单位 of the home region's bulletins, e.g. 桃江县统计局: set at start,
    /// keeping its 文号 prefix and 落款 (see PUT /v1/regions/{region}/settings).
    #[arg(long)]
    pub issuer: Option<String>,
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
            publish: self.publish,
            cors_origins: self.cors_origins.clone(),
            body_timeout: std::time::Duration::from_secs(self.body_timeout_secs.max(1)),
            notify,
            clock: crate::clock::Clock::system(tz),
            admin_token: std::env::var(ADMIN_TOKEN_ENV).ok(),
            auth_throttle: None,
            limits: crate::api::ServeLimits {
                max_connections: self.max_connections.max(1),
                max_connections_per_address: self.max_connections_per_address.max(1),
                header_read_timeout: std::time::Duration::from_secs(
                    self.header_timeout_secs.max(1),
                ),
                ..Default::default()
            },
            body_budget: self.body_budget_mb.max(1) * 1024 * 1024,
            trusted_proxies: self.trust_proxy.clone(),
            issuer: self.issuer.clone(),
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
        /// The region it submits for (default: the home region), e.g. 临湘市.
        #[arg(long)]
        region: Option<String>,
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
        Command::Import {
            file,
            db,
            dry_run,
            region,
            year,
            document,
            parent,
            plan,
            lang,
            json,
        } => import::import(
            &file,
            &db,
            import::SheetArgs {
                dry_run,
                opts: crate::catalogue::sheet::SheetOptions {
                    region,
                    year,
                    title: document,
                    parent,
                    plan_id: plan,
                },
                english: lang == "en",
            },
            json,
        ),
        Command::Template { what: _, out } => import::template(&out),
        Command::Plan { action } => match action {
            PlanAction::Draft {
                from,
                year,
                region,
                out,
                db,
            } => import::draft(&db, from, year, region.as_deref(), out.as_deref()),
            PlanAction::List { db, json } => import::list(&db, json),
        },
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
            lang,
            json,
        } => {
            let target = submit::Target {
                url,
                token,
                english: lang == "en",
            };
            let result = match (csv, indicator, period, value) {
                (Some(path), _, _, _) => submit::file(&target, &path, idempotency_key.as_deref()),
                (None, Some(i), Some(p), Some(v)) => {
                    submit::one(&target, &i, &p, v, status.as_deref(), note.as_deref())
                }
                _ => Err(submit::say(
                    target.english,
                    "请给出“指标 报告期 数值”，或用 --csv 文件",
                    "give INDICATOR PERIOD VALUE, or --csv FILE",
                )
                .into()),
            };
            result.and_then(|v| submit::print_submitted(&v, json, target.english))
        }
        Command::Attainment {
            as_of,
            battle,
            db,
            json,
        } => attainment::attainment(&db, as_of.as_deref(), battle.as_deref(), json),
        Command::Backup {
            out,
            db,
            hmac_key_file,
            json,
        } => backup::backup(&db, &out, hmac_key_file.as_deref(), json),
        Command::Restore {
            file,
            db,
            hmac_key_file,
            json,
        } => backup::restore(&file, &db, hmac_key_file.as_deref(), json),
        Command::Check { db, json } => backup::check(&db, json),
        Command::Migrate(args) => migrate::run(args),
        Command::Report {
            as_of,
            format,
            kind,
            out,
            date,
            tz,
            db,
            json,
        } => crate::clock::Clock::parse_tz(&tz)
            .map_err(|e| format!("--tz {e}").into())
            .and_then(|tz| {
                let date = date.unwrap_or_else(|| crate::clock::Clock::system(tz).today());
                let opts = report::ReportOptions {
                    as_of: as_of.as_deref(),
                    format: &format,
                    kind: &kind,
                    out: out.as_deref(),
                    date,
                    json,
                };
                report::report(&db, opts)
            }),
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

/// Refuses an admin secret (`ZHIBIAO_ADMIN_TOKEN`) shorter than
/// [`MIN_ADMIN_TOKEN_CHARS`]. An empty one means none: the first start generates one.
fn check_admin_secret(secret: Option<&str>) -> Result<(), String> {
    let n = secret.map_or(0, |s| s.trim().chars().count());
    if n > 0 && n < MIN_ADMIN_TOKEN_CHARS {
        return Err(format!(
            "{ADMIN_TOKEN_ENV} is {n} characters long; an admin secret must be at least \
             {MIN_ADMIN_TOKEN_CHARS} (e.g. `head -c 32 /dev/urandom | base64`), or leave it \
             unset and the first start generates one"
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admin_secret_needs_16_characters_and_an_empty_one_means_none() {
        // Unset or blank: the first start generates a secret, as before.
        for ok in [None, Some(""), Some("  "), Some("sixteen-chars!!!")] {
            assert!(check_admin_secret(ok).is_ok(), "{ok:?}");
        }
        // Surrounding whitespace is not part of the secret (it is trimmed on use).
        for short in [
            Some("x"),
            Some(" fifteen-chars!! "),
            Some("十五个字符十五个字符十五个字符"),
        ] {
            let e = check_admin_secret(short).expect_err("too short");
            assert!(
                e.contains(ADMIN_TOKEN_ENV) && e.contains("at least 16"),
                "{e}"
            );
        }
    }
}
