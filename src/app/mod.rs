//! The window: decides live or demo mode at launch, drains the shell's reports once per frame into the wizard,
//! and renders. It does no network or file work itself (docs/STYLE.md rules 6-8): buttons become [`Intent`]s.

pub mod board_view;
mod consent_view;
pub mod footer;
pub mod frame_timer;
mod preview_state;
mod sign_in_view;
mod support_view;
mod teams_view;
mod verify_view;
mod views;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::auth::vault::{Durability, MemoryStore};
use crate::diagnostics::bundle::WizardRecord;
use crate::launch::{Launch, Mode};
use crate::profile::Profile;
use crate::session::{self, Driver, Endpoints};
use crate::shell::browser::SystemBrowser;
use crate::shell::{Report, Shell, UrlOpener, VaultOpener, Waker};
use crate::wizard::{Intent, StepId, StepStatus, Wizard};

/// The demo tenant as the window sees it.
#[derive(Debug)]
pub enum DemoTenant {
    /// Live mode: no simulator.
    NotNeeded,
    Starting,
    Ready(Box<crate::demo::Tenant>),
    Failed(String),
}

/// Makes the URL opener once the endpoints are known (tests follow redirects instead of starting a browser).
pub type OpenerFactory = Arc<dyn Fn(&Endpoints, &tokio::runtime::Handle) -> Arc<dyn UrlOpener> + Send + Sync>;

/// What the app uses to reach the outside world; tests replace parts of it.
#[derive(Clone)]
pub struct AppServices {
    pub opener: OpenerFactory,
    pub vault: VaultOpener,
    /// Where progress that survives a restart is kept (installs for everyone); `None`: memory only.
    pub state_dir: Option<PathBuf>,
    /// Look for PowerShell, so live runs can offer "Run in PowerShell" (tests do not).
    pub find_console: bool,
}

impl std::fmt::Debug for AppServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppServices")
    }
}

impl AppServices {
    /// The system browser and the OS keychain (sealed tokens in `state_dir`).
    pub fn system(state_dir: PathBuf) -> Self {
        let vault_dir = state_dir.clone();
        Self {
            opener: Arc::new(|_, _| Arc::new(SystemBrowser) as Arc<dyn UrlOpener>),
            vault: Arc::new(move || crate::auth::vault::open_platform_store(&vault_dir)),
            state_dir: Some(state_dir),
            find_console: true,
        }
    }

    /// `opener` for URLs, a memory-only vault, and no saved progress (tests).
    pub fn for_tests(opener: OpenerFactory) -> Self {
        Self {
            opener,
            vault: Arc::new(|| Arc::new(MemoryStore::new("tests keep tokens in memory"))),
            state_dir: None,
            find_console: false,
        }
    }
}

/// The product icon of the header, loaded as a texture with the first frame.
#[derive(Default)]
pub struct HeaderIcon(pub Option<egui::TextureHandle>);

impl std::fmt::Debug for HeaderIcon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "HeaderIcon(loaded)" } else { "HeaderIcon(not yet)" })
    }
}

/// The eframe application.
#[derive(Debug)]
pub struct WizardApp {
    pub launch: Launch,
    pub demo: DemoTenant,
    /// The wizard, once the environment is known (at once in live mode, when the demo tenant is up otherwise).
    pub driver: Option<Driver>,
    /// Where tokens are kept, once known.
    pub storage: Option<Durability>,
    /// Why the wizard cannot run (HTTP setup failed), if it cannot.
    pub setup_problem: Option<String>,
    /// The last thing copied to the clipboard, for the "Copied" confirmation.
    pub copied: Option<String>,
    /// The last file saved (or why not), for the status line.
    pub saved: Option<Result<PathBuf, String>>,
    /// The PowerShell console found on this machine (live mode), for "Run in PowerShell".
    pub console: Option<crate::shell::console::Console>,
    /// The last script started in PowerShell (where it was saved), or why it could not be.
    pub script_started: Option<Result<PathBuf, String>>,
    /// The admin was in the browser at the last pump (a sign-in, the consent page, an approval).
    browser_waiting: bool,
    /// The browser handed back since the last frame: bring the window to the front.
    attention_due: bool,
    /// How many times the window asked for attention after the browser handed back (tests read it).
    pub attention_asked: u32,
    /// The product icon drawn in the header, once loaded.
    pub header_icon: HeaderIcon,
    /// "Hide customer details" for "Export diagnostics…".
    pub hide_customer_details: bool,
    /// A message about saved progress that could not be used (shown above the page until the setup moves on).
    pub progress_notice: Option<String>,
    /// The path typed under "Open a diagnostics bundle…", and why the last one could not be opened.
    pub bundle_path: String,
    pub bundle_problem: Option<String>,
    /// How many journal entries had been recorded when the last-session bundle was kept.
    kept_entries: u64,
    /// Search, drill-down and avatars of the directory preview.
    pub preview_state: preview_state::PreviewState,
    /// Search, filter, sort and selection of the partner's board.
    pub board_view: board_view::BoardViewState,
    /// Frame times for benchmarks (off unless asked for).
    frame_timer: frame_timer::FrameTimer,
    shell: Shell,
    services: AppServices,
    /// The profile and endpoints the wizard runs with (the demo tenant's once it is up), for a customer's session.
    session_base: Option<(Profile, Endpoints)>,
    /// The partner's session, kept while one of its customers is set up from the board.
    pub partner: Option<PartnerSession>,
}

/// A partner's session (its board) put aside while a customer of it is set up in the same window; "Back to the
/// customers" brings it back as it was.
#[derive(Debug)]
pub struct PartnerSession {
    driver: Option<Driver>,
    shell: Shell,
    /// The customer being set up: its tenant id and name.
    pub customer: (String, String),
    /// The partner's organization, for the way back.
    pub partner_name: String,
}

impl WizardApp {
    /// Creates the app; starts the demo tenant in the background, or configures the live environment.
    pub fn new(launch: Launch, shell: Shell, services: AppServices) -> Self {
        let mut app = Self {
            launch,
            demo: DemoTenant::NotNeeded,
            driver: None,
            storage: None,
            setup_problem: None,
            copied: None,
            saved: None,
            console: None,
            script_started: None,
            browser_waiting: false,
            attention_due: false,
            attention_asked: 0,
            header_icon: HeaderIcon::default(),
            hide_customer_details: false,
            progress_notice: None,
            bundle_path: String::new(),
            bundle_problem: None,
            kept_entries: 0,
            preview_state: preview_state::PreviewState::default(),
            board_view: board_view::BoardViewState::default(),
            frame_timer: frame_timer::FrameTimer::default(),
            shell,
            services,
            session_base: None,
            partner: None,
        };
        if app.services.find_console && matches!(app.launch.mode, Mode::Live) {
            app.shell.find_console();
        }
        match &app.launch.mode {
            Mode::Live => {
                let endpoints = Endpoints::microsoft(app.launch.profile.cloud);
                app.start_wizard(&app.launch.profile.clone(), &endpoints);
            }
            Mode::Demo { .. } => app.start_demo_tenant(),
        }
        app
    }

    /// Starts the simulated tenant of demo mode. A replay signs in by itself as the account the bundle calls for,
    /// so the wizard meets the admin's failures without a choice to get wrong.
    fn start_demo_tenant(&mut self) {
        let Mode::Demo { scenario, .. } = &self.launch.mode else { return };
        let auto_login = self
            .launch
            .reproduction
            .as_deref()
            .map(|r| r.1.account.clone())
            .or_else(|| self.launch.demo_account.clone());
        self.shell.start_demo_tenant((**scenario).clone(), auto_login);
        self.demo = DemoTenant::Starting;
    }

    fn start_wizard(&mut self, profile: &Profile, endpoints: &Endpoints) {
        self.session_base = Some((profile.clone(), endpoints.clone()));
        let tenant = self.launch.tenant.clone();
        self.start_wizard_in(profile, endpoints, tenant.as_deref(), true);
    }

    /// "Set up" on the partner's board: the five steps in the customer's own tenant, signed in there with the
    /// partner's account (GDAP), in a session of their own beside the partner's, which is kept for the way back.
    pub fn set_up_customer(&mut self, tenant_id: String, name: String) {
        let Some((profile, endpoints)) = self.session_base.clone() else { return };
        let partner_name =
            self.wizard().and_then(|w| w.account()).and_then(|a| a.tenant_name.clone()).unwrap_or_default();
        let customer_shell = self.shell.sibling();
        let partner = PartnerSession {
            driver: self.driver.take(),
            shell: std::mem::replace(&mut self.shell, customer_shell),
            customer: (tenant_id, name),
            partner_name,
        };
        let tenant = partner.customer.0.clone();
        self.partner = Some(partner);
        // Not kept as the window's progress: that file is the one setup picked up at the next start.
        self.start_wizard_in(&profile, &endpoints, Some(&tenant), false);
        // Straight to the sign-in, Welcome's choice made on the partner's side; signed in there without the
        // browser (the partner's sign-in redeemed at the customer's tenant). If that fails, its explanation
        // offers the browser.
        self.dispatch(Intent::Continue);
        self.dispatch(Intent::SignInWithSavedAccount);
    }

    /// Leaves the customer's session (what it did stays in its tenant) and shows the partner's board again.
    pub fn back_to_customers(&mut self) {
        let Some(partner) = self.partner.take() else { return };
        self.shell = partner.shell;
        self.driver = partner.driver;
    }

    fn start_wizard_in(&mut self, profile: &Profile, endpoints: &Endpoints, tenant: Option<&str>, keep_progress: bool) {
        let mut env = session::environment(profile, endpoints, tenant);
        env.state_dir.clone_from(&self.services.state_dir);
        let opener = (self.services.opener)(endpoints, self.shell.runtime());
        if let Err(e) = self.shell.configure(env.clone(), opener, self.services.vault.clone()) {
            self.setup_problem = Some(format!("{e:#}"));
            return;
        }
        let settings = session::settings(profile, &env, tenant);
        // A live setup is saved as it goes and picked up after a crash or a closed window; the demo tenant lives
        // only as long as the window, so there is nothing to pick up. (One small file, read once at start.)
        let state_dir =
            self.services.state_dir.clone().filter(|_| keep_progress && matches!(self.launch.mode, Mode::Live));
        let Some(state_dir) = state_dir else {
            self.driver = Some(Driver::new(Wizard::new(settings)));
            return;
        };
        let endpoint = session::progress_endpoint(&settings);
        let now = self.shell.clock().unix_seconds();
        let saved = session::load_progress(&state_dir, &endpoint, now); // ui-thread: once, before the first frame; one small file
        let wizard = match saved {
            session::SavedProgress::Found(saved) => Wizard::resume(settings, saved),
            session::SavedProgress::SetAside(message) => {
                self.progress_notice = Some(message);
                Wizard::new(settings)
            }
            session::SavedProgress::None => Wizard::new(settings),
        };
        self.driver = Some(Driver::new(wizard).keeping_progress(endpoint));
    }

    /// Applies finished background work and lets time pass (called once per frame, and by tests).
    pub fn pump(&mut self) {
        // A click since the last pump may have sent the admin to the browser.
        self.browser_waiting |= self.wizard().is_some_and(Wizard::waits_for_browser);
        for report in self.shell.drain() {
            let report = match &mut self.driver {
                Some(driver) => driver.apply(&self.shell, report),
                None => Some(report),
            };
            match report {
                Some(Report::DemoTenant(Ok(tenant))) => {
                    let endpoints = tenant.endpoints(self.launch.profile.cloud);
                    let profile = tenant.profile(&self.launch.profile);
                    self.demo = DemoTenant::Ready(Box::new(tenant));
                    self.start_wizard(&profile, &endpoints);
                }
                Some(Report::DemoTenant(Err(err))) => self.demo = DemoTenant::Failed(format!("{err:#}")),
                Some(Report::Storage(durability)) => self.storage = Some(durability),
                Some(Report::Avatars(photos)) => self.preview_state.avatars.receive(photos),
                Some(Report::Saved(result)) => self.saved = Some(result),
                Some(Report::Console(found)) => self.console = found,
                Some(Report::ScriptStarted(result)) => self.script_started = Some(result),
                Some(Report::BundleOpened(Ok(launch))) => self.replay(*launch),
                Some(Report::BundleOpened(Err(problem))) => self.bundle_problem = Some(problem),
                Some(Report::Wizard(_)) | None => {}
            }
        }
        if let Some(driver) = &mut self.driver {
            driver.tick(&self.shell);
        }
        let waiting = self.wizard().is_some_and(Wizard::waits_for_browser);
        if self.browser_waiting && !waiting {
            self.attention_due = true;
        }
        self.browser_waiting = waiting;
        self.keep_last_session();
    }

    /// For tests, as a paused tokio runtime jumps to its next timer: when no work is under way, moves the session
    /// clock on to the wizard's next deadline (a backoff, a poll) and says how far, so a journey waits for no
    /// real time. `None` while work runs (its answer may change the deadline) or when nothing waits on time.
    pub fn skip_idle_time(&mut self) -> Option<std::time::Duration> {
        // Idle before draining: every report of work that has ended is then in the channel, and is applied first.
        let idle = self.shell.idle();
        self.pump();
        if !idle {
            return None;
        }
        let wait = self.driver.as_ref()?.time_to_next_deadline(&self.shell)?;
        self.shell.clock().advance(wait);
        Some(wait)
    }

    /// The session's journal (tests build the bundle from it).
    pub fn shell_journal(&self) -> &crate::diagnostics::journal::Journal {
        self.shell.journal()
    }

    /// What a bundle of this session says of where it was made.
    pub fn environment(&self) -> crate::diagnostics::bundle::Environment {
        let demo_scenario = match &self.launch.mode {
            Mode::Demo { scenario, .. } => Some(scenario.name().to_owned()),
            Mode::Live => None,
        };
        crate::diagnostics::bundle::Environment::here(
            &self.launch.profile,
            demo_scenario,
            self.shell.clock().unix_seconds(),
        )
    }

    /// Keeps the session's bundle in the state folder for `diagnostics export`, when something new happened.
    fn keep_last_session(&mut self) {
        let n = self.shell.journal().recorded();
        if n == self.kept_entries || self.launch.reproduction.is_some() {
            return;
        }
        self.kept_entries = n;
        if let Some(wizard) = self.wizard() {
            self.shell.keep_last_session(WizardRecord::of(wizard), self.environment());
        }
    }

    /// Saves the bundle and its report to the Downloads folder, off the UI thread.
    pub fn export_diagnostics(&self) {
        let Some(wizard) = self.wizard() else { return };
        self.shell.export_diagnostics(WizardRecord::of(wizard), self.environment(), self.hide_customer_details);
    }

    /// Replays a bundle: read off the UI thread; a new simulated tenant made from it and a fresh wizard when it
    /// arrives ([`Report::BundleOpened`]).
    pub fn open_bundle(&mut self, path: &std::path::Path) {
        self.bundle_problem = None;
        self.shell.open_bundle(path.to_owned());
    }

    fn replay(&mut self, launch: Launch) {
        self.driver = None;
        self.preview_state = preview_state::PreviewState::default();
        self.launch = launch;
        self.start_demo_tenant();
    }

    /// Hands a person's intent to the wizard.
    pub fn dispatch(&mut self, intent: Intent) {
        if let Some(driver) = &mut self.driver {
            driver.dispatch(&self.shell, intent);
        }
    }

    /// Saves a script and starts it in `console`'s window, off the UI thread.
    pub fn run_script(&mut self, console: crate::shell::console::Console, name: String, text: String) {
        self.script_started = None;
        self.shell.run_script(console, name, text);
    }

    /// Saves a file the person asked for (a script) off the UI thread.
    pub fn save_file(&self, name: String, text: String) {
        self.shell.save_file(name, text);
    }

    /// Asks the shell for avatars of rows on screen.
    pub fn fetch_avatars(&self, ids: Vec<String>) {
        self.shell.fetch_avatars(ids);
    }

    /// The wizard, once running.
    pub fn wizard(&self) -> Option<&Wizard> {
        self.driver.as_ref().map(|d| &d.wizard)
    }

    /// The page shown.
    pub fn page(&self) -> StepId {
        self.wizard().map_or(StepId::Welcome, Wizard::page)
    }

    /// The status of a step in the step list.
    pub fn step_status(&self, step: StepId) -> StepStatus {
        self.wizard().map_or(if step == StepId::Welcome { StepStatus::Running } else { StepStatus::NotStarted }, |w| {
            w.status(step)
        })
    }

    /// Time until the wizard next needs a frame, if it waits on time. Countdowns on the page tick each second.
    fn repaint_after(&self) -> Option<std::time::Duration> {
        self.driver
            .as_ref()
            .and_then(|d| d.time_to_next_deadline(&self.shell))
            .map(|d| d.min(std::time::Duration::from_secs(1)))
    }

    /// Everything inside the window (tests drive this without a window).
    pub fn ui_body(&mut self, ui: &mut egui::Ui) {
        // The browser handed back: the window comes to the front where the OS allows it (macOS and Windows may
        // only flash its icon), and asks for attention either way.
        if std::mem::take(&mut self.attention_due) {
            self.attention_asked += 1;
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Focus);
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::RequestUserAttention(egui::UserAttentionType::Informational));
        }
        views::window_ui(ui, self);
    }
}

impl eframe::App for WizardApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.pump();
        if let Some(after) = self.repaint_after() {
            ctx.request_repaint_after(after);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.frame_timer.frame(frame.info().cpu_usage);
        self.ui_body(ui);
    }
}

/// Opens the window for a resolved launch. Blocks until it is closed. `frame_timer` writes frame times when a
/// benchmark asks for them.
pub fn run(launch: Launch, state_dir: PathBuf, frame_timer: frame_timer::FrameTimer) -> ExitCode {
    let runtime = match crate::shell::runtime("mspbots-worker") {
        Ok(rt) => rt,
        Err(err) => {
            crate::launch::report("cannot start the async runtime", &err);
            return ExitCode::FAILURE;
        }
    };
    let handle = runtime.handle().clone();
    let native = eframe::NativeOptions {
        viewport: product_viewport().with_inner_size([980.0, 680.0]).with_min_inner_size(MIN_WINDOW_SIZE),
        ..Default::default()
    };
    let result = eframe::run_native(
        crate::PRODUCT_NAME,
        native,
        Box::new(move |cc| {
            let shell = Shell::new(handle, cc.egui_ctx.clone());
            let mut app = WizardApp::new(launch, shell, AppServices::system(state_dir));
            app.frame_timer = frame_timer;
            Ok(Box::new(app))
        }),
    );
    // Background work (listeners, the demo tenant) ends with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            crate::launch::report("the window could not be opened", &err);
            ExitCode::FAILURE
        }
    }
}

/// The smallest window the wizard allows, in points (tests lay pages out at this size).
pub const MIN_WINDOW_SIZE: [f32; 2] = [720.0, 480.0];

/// A launch the program cannot use: the line on stderr, and, for a person who started it from a shortcut with
/// `--profile` say, the same line in a small window instead of the wizard. Nothing else is started; exit code 2.
pub fn refuse(problem: &crate::launch::LaunchError) -> ExitCode {
    crate::launch::report("cannot start", problem);
    show_refusal(&crate::launch::one_line(problem));
    ExitCode::from(2)
}

fn show_refusal(line: &str) {
    let native =
        eframe::NativeOptions { viewport: product_viewport().with_inner_size([640.0, 320.0]), ..Default::default() };
    let refusal = Refusal { line: line.to_owned() };
    if let Err(err) = eframe::run_native(crate::PRODUCT_NAME, native, Box::new(move |_| Ok(Box::new(refusal)))) {
        tracing::debug!("the refusal could not be shown in a window: {err}");
    }
}

/// The window shown instead of the wizard when the launch is refused.
#[derive(Debug)]
pub struct Refusal {
    /// [`crate::launch::one_line`] of the [`crate::launch::LaunchError`].
    pub line: String,
}

impl Refusal {
    /// The whole window (tests drive this without a window).
    pub fn ui_body(&self, ui: &mut egui::Ui) -> bool {
        views::refusal_ui(ui, &self.line)
    }
}

impl eframe::App for Refusal {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        if self.ui_body(ui) {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

/// A window of the product: its title, app id and icon.
fn product_viewport() -> egui::ViewportBuilder {
    egui::ViewportBuilder::default().with_title(crate::PRODUCT_NAME).with_app_id(crate::APP_ID).with_icon(window_icon())
}

/// The window's icon (title bar, taskbar, dock): the product icon, not egui's. The same picture as the Windows
/// executable's icon (build.rs) and the packaged app's (Cargo.toml).
fn window_icon() -> std::sync::Arc<egui::IconData> {
    match product_icon(include_bytes!("../../assets/icons/256x256.png")) {
        Some((rgba, width, height)) => std::sync::Arc::new(egui::IconData { rgba, width, height }),
        // Cannot happen with the icon built in (tested); an empty icon leaves the platform's default.
        None => std::sync::Arc::new(egui::IconData::default()),
    }
}

/// One of the built-in product icons (`assets/icons`, PNG) as RGBA pixels with its width and height; `None`
/// (logged) if it cannot be read.
fn product_icon(png: &[u8]) -> Option<(Vec<u8>, u32, u32)> {
    match image::load_from_memory_with_format(png, image::ImageFormat::Png) {
        Ok(picture) => {
            let rgba = picture.to_rgba8();
            let (width, height) = rgba.dimensions();
            Some((rgba.into_raw(), width, height))
        }
        Err(e) => {
            tracing::warn!("the product icon could not be read: {e}");
            None
        }
    }
}

/// The product icon for the header, from the same picture as the window's.
fn header_icon(ctx: &egui::Context) -> egui::TextureHandle {
    let image = product_icon(include_bytes!("../../assets/icons/128x128.png")).map_or_else(
        || egui::ColorImage::filled([1, 1], egui::Color32::TRANSPARENT),
        |(rgba, width, height)| egui::ColorImage::from_rgba_unmultiplied([width as usize, height as usize], &rgba),
    );
    ctx.load_texture("product-icon", image, egui::TextureOptions::LINEAR)
}

/// The window is woken by a repaint; the shell knows only the trait, so it carries no egui.
impl Waker for egui::Context {
    fn wake(&self) {
        self.request_repaint();
    }
}

/// The waker egui needs, re-exported for tests that build a shell without a window.
pub fn no_waker() -> impl Waker {
    crate::shell::NoWaker
}

#[cfg(test)]
mod icon_tests {
    #[test]
    fn the_window_icon_is_the_product_icon() {
        let icon = super::window_icon();
        assert_eq!((icon.width, icon.height), (256, 256));
        assert_eq!(icon.rgba.len(), 256 * 256 * 4);
        // The corner is transparent (rounded), the middle of the face is the product blue.
        assert_eq!(icon.rgba[3], 0);
        let at = |x: usize, y: usize| &icon.rgba[(y * 256 + x) * 4..(y * 256 + x) * 4 + 4];
        assert_eq!(at(40, 128), [0x24, 0x63, 0xEB, 0xFF]);
    }
}
