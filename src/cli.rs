//! The command line: what `mspbots-setup` accepts, and the commands that run without a window.
//!
//! Parsing only describes; `main` reads it once and hands values on. Commands here print for scripts and people
//! and return an exit code; they never open a window.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::launch::report;

/// Connect a Microsoft 365 tenant to MSPbots: sign in, grant consent, verify permissions, install the Teams app
/// and make it available, installed and pinned for everyone in Teams.
#[derive(Debug, Parser)]
#[command(name = "mspbots-setup", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// More log output on stderr (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// Which profile, which tenant, and whether to run against the demo tenant (the window and `run`).
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Run against the simulated demo tenant even when the vendor profile is complete.
    #[arg(long)]
    pub demo: bool,
    /// Vendor profile to use instead of the shipped one.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Demo tenant scenario, by name or file (see `mspbots-setup sim --list`).
    #[arg(long, value_name = "NAME|FILE", default_value = "happy")]
    pub scenario: String,
    /// Sign in to this tenant (id or verified domain) instead of letting the account choose.
    #[arg(long, value_name = "TENANT", value_parser = tenant_name)]
    pub tenant: Option<String>,
    /// The tenant's Microsoft cloud, instead of the profile's `cloud` (GCC uses the commercial hosts).
    #[arg(long, value_enum)]
    pub cloud: Option<crate::profile::Cloud>,
    /// Demo mode: the account the simulated sign-in pages sign in as by themselves (the window otherwise lets you
    /// pick on the page; headless uses the scenario's default account).
    #[arg(long = "as", value_name = "UPN")]
    pub as_account: Option<String>,
}

impl TargetArgs {
    /// As the app's launch options.
    pub fn launch(self) -> crate::launch::LaunchOptions {
        crate::launch::LaunchOptions {
            demo: self.demo,
            profile: self.profile,
            scenario: self.scenario,
            tenant: self.tenant,
            reproduce: None,
            cloud: self.cloud,
            demo_account: self.as_account,
        }
    }
}

/// Commands that run without the window.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the setup steps built so far without a window, printing each step's outcome.
    Run(RunArgs),
    /// Serve the simulated Microsoft tenant over HTTPS and print one JSON line describing it.
    Sim(SimArgs),
    /// Explain a Microsoft error: a code, or a file holding an error body, a redirect URL or a sign-in page's text.
    Explain(ExplainArgs),
    /// Work with diagnostics bundles.
    #[command(subcommand_required = true, arg_required_else_help = false)]
    Diagnostics(DiagnosticsArgs),
    /// Replay a diagnostics bundle against a simulated tenant configured from it (the window, or --headless).
    Reproduce(ReproduceArgs),
    /// A partner's (MSP's) GDAP customers: sign in to the partner's own tenant and see each customer's relationship,
    /// the roles you have there and what to do next.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Measure how far the simulated tenant is from a real one: record a real tenant's answer shapes (read-only,
    /// nothing private kept), or compare such a recording with the simulator.
    #[command(subcommand)]
    Conformance(ConformanceCommand),
}

/// `mspbots-setup customers list`.
#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// One line per customer (one JSON object per line with --json): relationship status and end, whether your
    /// roles there can grant consent and set up Teams, and the next action. Exit 0 when the list was read.
    List(CustomersListArgs),
    /// Run the five steps in customers' own tenants, signed in there with your partner account (GDAP): each
    /// TENANT_ID named, or with --all-ready every customer whose tenant, checked first, still needs the setup (not
    /// those set up before, blocking third-party apps, or needing their admin's consent). Step lines (JSON with --json)
    /// carry the customer's tenant_id. Exit 0 only when every step of every customer succeeded.
    Setup(CustomersSetupArgs),
    /// The list, then every customer where your roles reach checked in its own tenant (signed in there with your
    /// partner account, no browser): MSPbots' consent and permissions, its Teams app, the Global policy's pin and
    /// who of a sample has it (`done`, `missing`, `not_read`), third-party apps blocked, the customer's admin
    /// centers. Exit 0 when every customer checked could be read.
    Check(CustomersCheckArgs),
}

/// Options of `customers check`.
#[derive(Debug, Args)]
pub struct CustomersCheckArgs {
    /// Every customer where your roles reach (required: the one kind of check there is).
    #[arg(long, required = true)]
    pub all: bool,
    #[command(flatten)]
    pub list: CustomersListArgs,
}

/// Options of `customers setup`.
#[derive(Debug, Args)]
pub struct CustomersSetupArgs {
    /// Customers' tenant ids (or verified domains).
    #[arg(value_name = "TENANT_ID", value_parser = tenant_name, required_unless_present = "all_ready", conflicts_with = "all_ready")]
    pub tenants: Vec<String>,
    /// Every customer whose relationship gives you the roles and whose tenant, checked first, needs the setup.
    #[arg(long)]
    pub all_ready: bool,
    #[command(flatten)]
    pub list: CustomersListArgs,
    /// Also install the Teams app for every enabled member of each customer.
    #[arg(long)]
    pub install_for_everyone: bool,
    /// After a consent, how long (seconds) to re-check permissions still missing.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub grant_wait: u64,
}

/// Options of `customers list`.
#[derive(Debug, Args)]
pub struct CustomersListArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Run without the window (required: in the window, the board is Welcome's second way in).
    #[arg(long)]
    pub headless: bool,
    /// Sign in with a device code instead of the browser.
    #[arg(long)]
    pub device_code: bool,
    /// One JSON object per line (per customer; per step for `customers setup`).
    #[arg(long)]
    pub json: bool,
}

/// `mspbots-setup conformance record|compare`.
#[derive(Debug, Subcommand)]
pub enum ConformanceCommand {
    /// Sign in with read-only permissions, make every read the wizard makes, and save the answers' shapes (no
    /// values, ids, names, tokens or tenant details) to FILE. Nothing is written to the tenant.
    Record(RecordArgs),
    /// Record the same reads against the simulated tenant and print how they differ from FILE (exit 0: none;
    /// 1: differences; 2: FILE unreadable).
    Compare(CompareArgs),
}

/// Options of `conformance record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where to write the shape report (JSON).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Vendor profile to use instead of the shipped one.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Sign in to this tenant (id or verified domain) instead of letting the account choose.
    #[arg(long, value_name = "TENANT", value_parser = tenant_name)]
    pub tenant: Option<String>,
    /// The tenant's Microsoft cloud, instead of the profile's.
    #[arg(long, value_enum)]
    pub cloud: Option<crate::profile::Cloud>,
    /// Sign in with a device code instead of the browser.
    #[arg(long)]
    pub device_code: bool,
    /// Identity provider base URL instead of Microsoft's (a simulator `sim` printed).
    #[arg(long, value_name = "URL", value_parser = web_address, requires = "graph_url")]
    pub login_url: Option<String>,
    /// Microsoft Graph base URL to use with --login-url.
    #[arg(long, value_name = "URL", value_parser = web_address)]
    pub graph_url: Option<String>,
    /// Teams admin configuration API base URL to use with --login-url.
    #[arg(long, value_name = "URL", value_parser = web_address)]
    pub teams_admin_url: Option<String>,
    /// Trust only this CA certificate (PEM) for the URLs above.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
}

/// Options of `conformance compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A report written by `conformance record`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The simulated tenant's scenario to compare with, by name or file.
    #[arg(long, value_name = "NAME|FILE", default_value = "happy")]
    pub scenario: String,
    /// Vendor profile to use instead of the shipped one.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// One JSON object per difference.
    #[arg(long)]
    pub json: bool,
}

/// Options of `mspbots-setup explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A code: `AADSTS65001`, `65001`, `Authorization_RequestDenied`, `timeout`, …
    #[arg(value_name = "CODE", required_unless_present = "file", conflicts_with = "file")]
    pub code: Option<String>,
    /// A file with a token-endpoint error body, a Graph error envelope, a redirect URL, or text copied from
    /// Microsoft's sign-in error page (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `mspbots-setup diagnostics`.
#[derive(Debug, Args)]
pub struct DiagnosticsArgs {
    #[command(subcommand)]
    pub command: DiagnosticsCommand,
}

/// What to do with diagnostics.
#[derive(Debug, Subcommand)]
pub enum DiagnosticsCommand {
    /// Write the last session's bundle to FILE (JSON) and its report beside it (.html).
    Export {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Cut tenant ids and GUIDs to their last segment and mask names, UPNs and domains.
        #[arg(long)]
        hide_customer_details: bool,
    },
}

/// Options of `mspbots-setup reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// The diagnostics bundle (JSON).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// Replay without a window, printing each step's outcome.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: print JSON lines.
    #[arg(long)]
    pub json: bool,
    /// With --headless: how long to re-check missing permissions.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub grant_wait: u64,
}

/// Options of `mspbots-setup run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run without a window (required: the window is `mspbots-setup` without a command).
    #[arg(long)]
    pub headless: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Identity provider base URL (instead of Microsoft or the demo), e.g. the URL `sim` printed.
    #[arg(long, value_name = "URL", value_parser = web_address)]
    pub login_url: Option<String>,
    /// Microsoft Graph base URL to use with --login-url.
    #[arg(long, value_name = "URL", value_parser = web_address)]
    pub graph_url: Option<String>,
    /// Teams admin configuration API base URL to use with --login-url.
    #[arg(long, value_name = "URL", value_parser = web_address)]
    pub teams_admin_url: Option<String>,
    /// An OpenID Connect discovery URL (for identity providers other than Microsoft).
    #[arg(long, value_name = "URL", value_parser = web_address)]
    pub discovery_url: Option<String>,
    /// Trust only this CA certificate (PEM) for the URLs above.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Sign-in scopes, space separated (for identity providers other than Microsoft).
    #[arg(long, value_name = "SCOPES", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub scopes: Option<String>,
    /// Host name in the loopback redirect URI.
    #[arg(long, value_name = "HOST", value_parser = ["localhost", "127.0.0.1"])]
    pub redirect_host: Option<String>,
    /// Sign in with a device code instead of the browser.
    #[arg(long)]
    pub device_code: bool,
    /// Stop after this step.
    #[arg(long, value_name = "STEP", value_parser = ["sign-in", "admin-consent", "verify-permissions", "teams-app"])]
    pub stop_after: Option<String>,
    /// After installing the Teams app for you, install it for every enabled member too (resumes an earlier run).
    #[arg(long)]
    pub install_for_everyone: bool,
    /// After a consent, how long to keep re-checking permissions that are still missing (Microsoft can take
    /// minutes to apply a consent).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub grant_wait: u64,
    /// Print JSON lines (`step`, `status`, `code`, `summary`, `fix`).
    #[arg(long)]
    pub json: bool,
    /// Write a diagnostics bundle of the run to FILE (and its report beside it, .html).
    #[arg(long, value_name = "FILE")]
    pub diagnostics: Option<PathBuf>,
    /// In that bundle, hide customer details (tenant ids, GUIDs, names, UPNs, domains).
    #[arg(long, requires = "diagnostics")]
    pub hide_customer_details: bool,
}

/// Options of `mspbots-setup sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address of the simulated login host (port 0 picks a free one; Graph and Teams admin get their own).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Scenario by name or TOML file.
    #[arg(long, value_name = "NAME|FILE", default_value = "happy")]
    pub scenario: String,
    /// Complete every sign-in, consent and device code at once as this account.
    #[arg(long, value_name = "UPN")]
    pub auto_login: Option<String>,
    /// Folder for the CA certificate (default: a private temporary folder removed on exit).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// List the shipped scenarios and exit.
    #[arg(long)]
    pub list: bool,
}

/// A web address the program may talk to: `http` or `https` with a host.
fn web_address(text: &str) -> Result<String, String> {
    match url::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(text.to_owned()),
        Ok(u) => Err(format!("'{text}' is not an http or https address with a host (scheme '{}')", u.scheme())),
        Err(e) => Err(format!("'{text}' is not a web address: {e}")),
    }
}

/// A tenant as Microsoft's sign-in takes it: its id (a GUID), one of its domain names, or `organizations`.
fn tenant_name(text: &str) -> Result<String, String> {
    let guid = crate::profile::is_guid(text);
    let domain = text.contains('.')
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if guid || domain || text == "organizations" {
        Ok(text.to_owned())
    } else {
        Err(format!("'{text}' is neither a tenant id (a GUID) nor a domain name such as contoso.onmicrosoft.com"))
    }
}

/// `mspbots-setup sim`: serves the simulated tenant until SIGINT or SIGTERM (a live-only build has none).
pub fn run_sim(args: SimArgs) -> ExitCode {
    crate::demo::serve(crate::demo::ServeOptions {
        addr: args.addr,
        scenario: args.scenario,
        auto_login: args.auto_login,
        state_dir: args.state_dir,
        list: args.list,
    })
}

/// `mspbots-setup run --headless`.
pub fn run_headless(args: RunArgs, state_dir: PathBuf, browser: Option<String>) -> ExitCode {
    if !args.headless {
        report(
            "nothing to do",
            &std::io::Error::other("`run` needs --headless; start the window with `mspbots-setup`"),
        );
        return ExitCode::from(2);
    }
    let options = crate::headless::HeadlessOptions {
        launch: args.target.launch(),
        login_url: args.login_url,
        graph_url: args.graph_url,
        teams_admin_url: args.teams_admin_url,
        discovery_url: args.discovery_url,
        ca_cert: args.ca_cert,
        scopes: args.scopes.map(|s| s.split_whitespace().map(str::to_owned).collect()),
        redirect_host: args.redirect_host,
        device_code: args.device_code,
        saved_sign_in: false,
        stop_after: args.stop_after.as_deref().map(|s| match s {
            "sign-in" => crate::wizard::StepId::SignIn,
            "admin-consent" => crate::wizard::StepId::AdminConsent,
            "verify-permissions" => crate::wizard::StepId::VerifyPermissions,
            _ => crate::wizard::StepId::TeamsApp,
        }),
        install_for_everyone: args.install_for_everyone,
        grant_wait: std::time::Duration::from_secs(args.grant_wait),
        json: args.json,
        diagnostics: args.diagnostics,
        hide_customer: args.hide_customer_details,
        state_dir,
        browser,
    };
    crate::headless::run(options)
}

/// `mspbots-setup customers list --headless`.
pub fn run_customers(command: CustomersCommand, state_dir: PathBuf, browser: Option<String>) -> ExitCode {
    let (args, check) = match command {
        CustomersCommand::List(args) => (args, false),
        CustomersCommand::Check(args) => (args.list, true),
        CustomersCommand::Setup(args) => return set_customers_up(args, state_dir, browser),
    };
    let name = if check { "customers check" } else { "customers list" };
    if !args.headless {
        let why = format!("`{name}` needs --headless (in the window, the board is Welcome's second way in)");
        report("nothing to do", &std::io::Error::other(why));
        return ExitCode::from(2);
    }
    let options = crate::headless::HeadlessOptions {
        launch: args.target.launch(),
        device_code: args.device_code,
        saved_sign_in: false,
        json: args.json,
        state_dir,
        browser,
        ..crate::headless::HeadlessOptions::default()
    };
    if check { crate::headless::check_customers(options) } else { crate::headless::list_customers(options) }
}

/// `mspbots-setup customers setup --headless`.
fn set_customers_up(args: CustomersSetupArgs, state_dir: PathBuf, browser: Option<String>) -> ExitCode {
    if !args.list.headless {
        report("nothing to do", &std::io::Error::other("`customers setup` needs --headless"));
        return ExitCode::from(2);
    }
    let targets = if args.all_ready {
        crate::headless::CustomerTargets::AllReady
    } else {
        crate::headless::CustomerTargets::Tenants(args.tenants)
    };
    let options = crate::headless::HeadlessOptions {
        launch: args.list.target.launch(),
        device_code: args.list.device_code,
        install_for_everyone: args.install_for_everyone,
        grant_wait: std::time::Duration::from_secs(args.grant_wait),
        json: args.list.json,
        state_dir,
        browser,
        ..crate::headless::HeadlessOptions::default()
    };
    crate::headless::set_customers_up(options, targets)
}

/// `mspbots-setup conformance record|compare`.
pub fn run_conformance(command: ConformanceCommand, state_dir: PathBuf, browser: Option<String>) -> ExitCode {
    match command {
        ConformanceCommand::Record(args) => {
            let options = crate::headless::HeadlessOptions {
                launch: crate::launch::LaunchOptions {
                    demo: false,
                    profile: args.profile,
                    scenario: String::new(),
                    tenant: args.tenant,
                    reproduce: None,
                    cloud: args.cloud,
                    demo_account: None,
                },
                login_url: args.login_url,
                graph_url: args.graph_url,
                teams_admin_url: args.teams_admin_url,
                ca_cert: args.ca_cert,
                device_code: args.device_code,
                state_dir,
                browser,
                ..crate::headless::HeadlessOptions::default()
            };
            crate::conformance::record(options, &args.out)
        }
        ConformanceCommand::Compare(args) => {
            let options = crate::headless::HeadlessOptions {
                launch: crate::launch::LaunchOptions {
                    demo: true,
                    profile: args.profile,
                    scenario: args.scenario,
                    tenant: None,
                    reproduce: None,
                    cloud: None,
                    demo_account: None,
                },
                state_dir,
                ..crate::headless::HeadlessOptions::default()
            };
            crate::conformance::compare(options, &args.file, args.json)
        }
    }
}

/// `mspbots-setup explain`: exit 0 with the explanation, 2 when the input is not something it can read.
pub fn run_explain(args: &ExplainArgs) -> ExitCode {
    use crate::diagnostics::explain;
    let (failure, what) = match (&args.code, &args.file) {
        (Some(code), _) => (explain::parse_code(code), format!("'{code}'")),
        (None, Some(path)) => {
            let read = if path.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map(|_| s)
            } else {
                std::fs::read_to_string(path)
            };
            match read {
                Ok(text) => (explain::parse_input(&text), path.display().to_string()),
                Err(e) => {
                    report(&format!("cannot read {}", path.display()), &e);
                    return ExitCode::from(2);
                }
            }
        }
        (None, None) => (None, "nothing".to_owned()),
    };
    let Some(failure) = failure else {
        report(
            "cannot explain it",
            &std::io::Error::other(format!(
                "{what} is not a Microsoft error code, a token or Graph error body, a redirect URL with error parameters, or text from Microsoft's sign-in error page"
            )),
        );
        return ExitCode::from(2);
    };
    let e = crate::diagnostics::Catalogue::shipped().explain(&failure, "MSPbots");
    let text = if args.json {
        serde_json::to_string_pretty(&e).unwrap_or_default()
    } else {
        let mut t = format!("{}\n\n{}\n\nWho can fix it: {}\nHow:\n", e.summary, e.meaning, e.who.label());
        for (i, step) in e.fix.iter().enumerate() {
            t.push_str(&format!("  {}. {step}\n", i + 1));
        }
        t.push_str(&format!("Code: {}\n", e.code));
        if let Some(doc) = &e.doc_url {
            t.push_str(&format!("Microsoft's documentation: {doc}\n"));
        }
        for (k, v) in &e.details {
            t.push_str(&format!("{k}: {v}\n"));
        }
        t
    };
    let _ignored = writeln!(std::io::stdout().lock(), "{}", text.trim_end());
    ExitCode::SUCCESS
}

/// `mspbots-setup diagnostics export`: the last session's bundle, from the state folder.
pub fn run_diagnostics(args: DiagnosticsArgs, state_dir: &std::path::Path) -> ExitCode {
    let DiagnosticsCommand::Export { file, hide_customer_details } = args.command;
    let last = state_dir.join(crate::diagnostics::bundle::LAST_SESSION);
    let bundle = match crate::diagnostics::bundle::Bundle::load(&last) {
        Ok(b) => b,
        Err(crate::diagnostics::bundle::BundleError::Read { .. }) => {
            report(
                "nothing to export",
                &std::io::Error::other(format!(
                    "no session has been recorded on this computer yet ({} is missing)",
                    last.display()
                )),
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            report("cannot read the last session", &e);
            return ExitCode::from(2);
        }
    };
    let bundle = if hide_customer_details { bundle.hidden() } else { bundle };
    match bundle.write_with_report(&file) {
        Ok(()) => {
            let _ignored =
                writeln!(std::io::stdout().lock(), "{}\n{}", file.display(), file.with_extension("html").display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(&format!("cannot write {}", file.display()), &e);
            ExitCode::from(2)
        }
    }
}

/// `mspbots-setup reproduce BUNDLE [--headless]`.
pub fn run_reproduce(args: &ReproduceArgs, state_dir: PathBuf) -> ExitCode {
    let launch =
        crate::launch::LaunchOptions { demo: true, reproduce: Some(args.bundle.clone()), ..Default::default() };
    if !args.headless {
        return match crate::launch::Launch::resolve(&launch) {
            Ok(resolved) => crate::app::run(resolved, state_dir, crate::app::frame_timer::FrameTimer::default()),
            Err(problem) => crate::app::refuse(&problem),
        };
    }
    // Headless reads and checks the bundle itself before anything starts.
    let options = crate::headless::HeadlessOptions {
        launch,
        grant_wait: std::time::Duration::from_secs(args.grant_wait),
        json: args.json,
        // The replay's own session is kept apart from the admin's last session.
        state_dir: state_dir.join("reproduce"),
        ..Default::default()
    };
    crate::headless::run(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn addresses_and_tenants_of_the_wrong_form_are_refused() {
        assert!(web_address("https://login.microsoftonline.com/").is_ok());
        assert!(web_address("http://127.0.0.1:8080").is_ok());
        assert!(web_address("login.microsoftonline.com").is_err());
        assert!(web_address("ftp://example.com").is_err());
        assert!(web_address("file:///etc/passwd").is_err());
        assert!(tenant_name("contoso.onmicrosoft.com").is_ok());
        assert!(tenant_name("72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
        assert!(tenant_name("organizations").is_ok());
        assert!(tenant_name("contoso").is_err());
        assert!(tenant_name("72f988bf-86f1-41af-91ab-2d7cd011db4").is_err());
        assert!(tenant_name("con toso.com").is_err());
        assert!(tenant_name("-x.com").is_err());
    }

    #[test]
    fn sim_defaults_to_loopback_and_happy() {
        let cli = Cli::try_parse_from(["mspbots-setup", "sim"]).unwrap();
        let Some(Command::Sim(args)) = cli.command else { panic!("not sim") };
        assert_eq!(args.addr.to_string(), "127.0.0.1:0");
        assert_eq!(args.scenario, "happy");
    }
}
