//! The command-line grammar (clap derive). Every subcommand's help is what admins read first.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  unexpected error (a bug; see the log)
  2  invalid input: arguments, configuration file, names, URLs, tenant or client IDs
  3  not found: no such connection, job or run
  4  credentials rejected or a permission/consent missing (also: a connection test failed)
  5  remote system unreachable or kept failing
  6  OS keychain unavailable, or a secret missing
  7  conflict: the data folder is used by another Crosswalk process, or the job is already running
     (also: an issue or record linked already, or a link made by auto-create that cannot be unlinked)
  8  cancelled
  9  the run finished but some objects failed (see `crosswalk run show RUN`)

Data folder: --data-dir, else $CROSSWALK_DATA_DIR, else the OS per-user data folder
(Linux: ~/.local/share/crosswalk, macOS: ~/Library/Application Support/crosswalk,
Windows: %APPDATA%\\crosswalk). Secrets live in the OS keychain, never in that folder.";

/// Crosswalk keeps Jira (and Jira Service Management Assets) in step with Microsoft Entra ID,
/// Intune and Dynamics 365. Without a subcommand it opens the console window.
#[derive(Debug, Parser)]
#[command(name = "crosswalk", version, about, long_about = None, after_long_help = EXIT_CODES, after_help = "Run `crosswalk --help` for exit codes and where data lives.")]
pub struct Cli {
    /// Data folder holding the database and logs (default: the OS per-user data folder).
    #[arg(long, global = true, env = "CROSSWALK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// More diagnostics on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply or export the declarative configuration (connections and jobs; never secrets).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Store or remove secrets in the OS keychain.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// List or test connections.
    #[command(subcommand)]
    Connection(ConnectionCommand),
    /// List jobs with their schedules and last runs.
    Jobs(JsonFlag),
    /// Run a job now and wait for it to finish.
    Sync(SyncArgs),
    /// List recent runs, newest first.
    Runs(RunsArgs),
    /// Show one run: counts, requests and events.
    #[command(subcommand)]
    Run(RunCommand),
    /// Smart Connected Items: list an item's links (stored; no remote calls).
    Links(LinksArgs),
    /// Smart Connected Items: find issues of the item's Jira project or records of its
    /// Dataverse table, to link by hand.
    Search(SearchArgs),
    /// Smart Connected Items: link a Jira issue to a Dynamics record by hand (writes the
    /// "Linked to Jira" note on the record and a remote link on the issue).
    Link(LinkArgs),
    /// Smart Connected Items: remove a manual link, its note and its remote link (the issue and
    /// the record are kept; links made by auto-create cannot be removed by hand).
    Unlink(UnlinkArgs),
    /// Smart Connected Items: pair existing records and issues holding the same value. Prints
    /// the preview and writes nothing unless --yes is given; with it, links the pairs as a run of
    /// the item.
    BulkLink(BulkLinkArgs),
    /// Run the scheduler without a window (for servers); stops on Ctrl-C or SIGTERM.
    Serve,
    /// Start the local sandbox (Microsoft identity platform, Graph, Dataverse, Jira, Assets
    /// servers on 127.0.0.1) with generated data, print their base URLs and run until Ctrl-C.
    Sandbox(SandboxArgs),
    /// Try Crosswalk with no tenant: start the sandbox with demo data, set up demo connections
    /// and jobs in a separate data folder (<data-dir>/demo, never your real configuration) and
    /// open the console on it.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How much demo data: tiny, small, medium or large.
    #[arg(long, default_value = "medium")]
    pub size: crosswalk_sandbox::Size,
    /// Same seed, same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// No window: run every demo job once, print the summaries and exit.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: print the runs as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// How much data to generate: tiny, small, medium or large (100k users, 50k devices).
    #[arg(long, default_value = "medium")]
    pub size: crosswalk_sandbox::Size,
    /// Same seed, same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Inject faults, e.g. `graph:/users=throttle:2*3`, `jira=latency:200`, `dataverse=status:503`,
    /// `assets:/object=reset*1` (server[:route]=fault[*times]; repeatable).
    #[arg(long = "faults", value_name = "RULE")]
    pub faults: Vec<String>,
    /// Run rate-limit windows and injected latency this many times faster than real time
    /// (benchmarks: the ratio to the APIs' floor stays meaningful; keep it at 30 or less).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Base latency per server: none or realistic.
    #[arg(long, default_value = "none")]
    pub latency: crosswalk_sandbox::LatencyProfile,
    /// Enforce Assets' documented rate limits: documented or documented-no-retry-after.
    #[arg(long, value_name = "MODE")]
    pub assets_limits: Option<crosswalk_sandbox::AssetsLimits>,
    /// Enforce Jira Cloud's rate limits for API tokens: burst limits per endpoint and method
    /// (RateLimit-Reason jira-burst-based) and per-issue write limits (jira-per-issue-on-write),
    /// with Retry-After on every 429 (documented), on none (documented-no-retry-after) or on three
    /// in four (documented-mixed). Atlassian publishes no numbers: 10 requests/s with a burst of
    /// 100 per endpoint, and 20 writes per 2 s and 100 per 30 s per issue, are unverified.
    #[arg(long, value_name = "MODE")]
    pub jira_limits: Option<crosswalk_sandbox::JiraLimits>,
    /// Print the URLs and credentials as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Create or update the connections and jobs in FILE. Validates the whole file first and
    /// changes nothing if anything is wrong; applying the same file twice changes nothing.
    Apply {
        /// TOML file with [[connection]] and [[job]] tables.
        file: PathBuf,
        /// Also delete connections and jobs the file does not list.
        #[arg(long)]
        prune: bool,
        /// Only validate the file and show what would change.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Print the stored connections and jobs as TOML (no secrets).
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret under NAME in the OS keychain, reading the value from standard input
    /// (a connection's secret is the entry named like the connection unless it says otherwise).
    Set {
        /// Keychain entry name, usually the connection's name.
        name: String,
    },
    /// Remove the secret NAME from the OS keychain.
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// List connections and where their secrets live.
    List(JsonFlag),
    /// Sign in and check every permission the syncs need; prints a checklist with fixes.
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Job name (see `crosswalk jobs`).
    pub job: String,
    /// Compute and record the plan without writing to Jira or Dynamics.
    #[arg(long)]
    pub dry_run: bool,
    /// Entra Sync: carry out retirements the mass-retirement guard held back (this run only).
    #[arg(long)]
    pub confirm_retirements: bool,
    /// Print the finished run as JSON instead of text and a progress bar.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only runs of this job.
    #[arg(long)]
    pub job: Option<String>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Show a run's summary and its events.
    Show {
        /// Run id (see `crosswalk runs`).
        run: i64,
        /// Only events at or above this level: info, warn, error.
        #[arg(long)]
        level: Option<String>,
        /// How many events to print.
        #[arg(long, default_value_t = 50)]
        events: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct LinksArgs {
    /// Smart Connected Item (a job of kind dynamics-item; see `crosswalk jobs`).
    pub job: String,
    #[arg(long)]
    pub json: bool,
}

/// Which side `crosswalk search` looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SearchSide {
    /// Jira issues of the item's project (by key or summary text).
    Issues,
    /// Dataverse records of the item's table (by name text or id).
    Records,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Smart Connected Item (a job of kind dynamics-item).
    pub job: String,
    /// Where to look: issues (Jira) or records (Dynamics).
    #[arg(value_enum)]
    pub side: SearchSide,
    /// Text to look for; empty lists the most recent (at most 20 results).
    #[arg(default_value = "")]
    pub text: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    /// Smart Connected Item (a job of kind dynamics-item).
    pub job: String,
    /// Jira issue key of the item's project, e.g. SUP-12.
    pub issue_key: String,
    /// Dataverse record id (a GUID) of the item's table (`crosswalk search JOB records TEXT`).
    pub record_id: String,
    /// Print the new link's preview as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UnlinkArgs {
    /// Smart Connected Item (a job of kind dynamics-item).
    pub job: String,
    /// The linked issue's key (or the linked record's id).
    pub issue_key: String,
    /// Print the removed link as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BulkLinkArgs {
    /// Smart Connected Item (a job of kind dynamics-item).
    pub job: String,
    /// Dataverse column whose value identifies the issue (logical name, e.g. ticketnumber).
    #[arg(long, value_name = "COLUMN")]
    pub column: String,
    /// Jira field holding the same value (field id, e.g. summary or customfield_10010).
    #[arg(long, value_name = "FIELD")]
    pub field: String,
    /// Only records this OData $filter selects, e.g. "statecode eq 0".
    #[arg(long, value_name = "ODATA")]
    pub filter: Option<String>,
    /// Link the previewed pairs (as a run of the item). Without it nothing is written.
    #[arg(long)]
    pub yes: bool,
    /// How many pairs the text preview lists.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub show: usize,
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::{Cli, Command};
    use clap::{CommandFactory as _, Parser as _};

    fn sandbox_args(extra: &[&str]) -> Result<super::SandboxArgs, clap::Error> {
        let args = ["crosswalk", "sandbox", "--size", "tiny"]
            .iter()
            .chain(extra);
        match Cli::try_parse_from(args)?.command {
            Some(Command::Sandbox(args)) => Ok(args),
            other => panic!("not the sandbox subcommand: {other:?}"),
        }
    }

    // `crosswalk sandbox --jira-limits MODE` turns Jira's documented limits on (off by default),
    // rejects unknown modes with the list of valid ones, and `--help` names every mode.
    #[test]
    fn sandbox_jira_limits_flag() {
        assert_eq!(sandbox_args(&[]).unwrap().jira_limits, None);
        for (mode, bare_every) in [
            ("documented", 0),
            ("documented-no-retry-after", 1),
            ("documented-mixed", 4),
        ] {
            let limits = sandbox_args(&["--jira-limits", mode])
                .unwrap()
                .jira_limits
                .unwrap_or_else(|| panic!("{mode} turns the limits on"));
            assert_eq!(limits.bare_every, bare_every, "{mode}");
        }
        let error = sandbox_args(&["--jira-limits", "lots"]).unwrap_err();
        assert!(
            error.to_string().contains("documented-no-retry-after"),
            "{error}"
        );
        let mut cli = Cli::command();
        let help = cli
            .find_subcommand_mut("sandbox")
            .expect("the sandbox subcommand exists")
            .render_long_help()
            .to_string();
        for word in [
            "--jira-limits",
            "jira-burst-based",
            "jira-per-issue-on-write",
            "documented-mixed",
        ] {
            assert!(help.contains(word), "sandbox --help lacks {word}:\n{help}");
        }
    }
}
