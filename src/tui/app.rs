//! The application state and its one `update` function. Actions come in, the state
//! changes, the vault is called; every domain error becomes something on screen (a form
//! message, the status line), never an early exit. Drawing lives in `ui`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use crate::vault::{
    Credential, NewCredential, SecretInfo, Vault, VaultError, Via, crypto::KdfParams,
};

use super::action::Action;
use super::compare::CompareState;
use super::fields;
use super::form::{Field, FormKind, SecretForm};
use super::health::HealthView;
use super::keymap::{self, ModeKind};
use super::places::Places;
use super::rows::{self, RowData, SortKey};
use super::text;
use super::unlock::{CreateState, UnlockState};
use super::values::{Clip, Effect, HistoryState, RevealState};

/// How often the table is re-read while idle, so CLI changes show up.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);
/// Even when the vault file looks unchanged.
pub const FULL_RELOAD_EVERY: Duration = Duration::from_secs(30);
/// How long a status message stays.
pub const STATUS_FOR: Duration = Duration::from_secs(5);

pub enum Screen {
    Create(Box<CreateState>),
    Unlock(Box<UnlockState>),
    Secrets,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmFocus {
    Delete,
    Cancel,
}

/// What a key does in a delete dialog (a secret's or an environment's).
pub enum ConfirmAnswer {
    Yes,
    No,
    /// Still asking, with this focus.
    Ask(ConfirmFocus),
}

impl ConfirmFocus {
    pub fn answer(self, action: &Action) -> ConfirmAnswer {
        match action {
            Action::ConfirmYes => ConfirmAnswer::Yes,
            Action::Submit if self == ConfirmFocus::Delete => ConfirmAnswer::Yes,
            Action::Submit | Action::Cancel => ConfirmAnswer::No,
            Action::ToggleFocus => ConfirmAnswer::Ask(match self {
                ConfirmFocus::Delete => ConfirmFocus::Cancel,
                ConfirmFocus::Cancel => ConfirmFocus::Delete,
            }),
            _ => ConfirmAnswer::Ask(self),
        }
    }
}

pub struct ProjectEntry {
    pub name: String,
    pub environments: usize,
    pub secrets: usize,
}

pub struct PickerState {
    pub projects: Vec<ProjectEntry>,
    pub selected: usize,
    /// Typing a new project's name.
    pub new_name: Option<TextArea<'static>>,
    pub error: Option<String>,
}

/// Naming a new environment of the open project.
pub struct NewEnvState {
    pub name: TextArea<'static>,
    /// The vault's message for the name typed (the CLI's words).
    pub error: Option<String>,
}

/// What is open over the table. Each modal owns its state, so two cannot be open at once.
pub enum Mode {
    Browse,
    Filter,
    Form(Box<SecretForm>),
    Confirm {
        key: String,
        focus: ConfirmFocus,
    },
    Help {
        scroll: u16,
    },
    ProjectPicker(Box<PickerState>),
    NewEnv(Box<NewEnvState>),
    /// Removing the environment shown: its name and how many secrets go with it.
    RemoveEnv {
        env: String,
        secrets: usize,
        focus: ConfirmFocus,
    },
    /// The selected secret's value, shown until a key or its timer hides it.
    Reveal(Box<RevealState>),
    History(Box<HistoryState>),
    Copy(Box<super::copy::CopyState>),
    Import(Box<super::import::ImportState>),
    Compare(Box<CompareState>),
    /// The Members screen of a team vault, and its popups.
    Members(Box<super::members::MembersState>),
    /// This machine's identity, for a team change of this screen (`team_identity`).
    TeamIdentity(Box<super::team_identity::TeamPrompt>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

pub struct Status {
    pub level: Level,
    pub text: String,
    pub since: Instant,
}

/// Wall-clock time for dates and ages; tests fix it.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(i64),
}

impl Clock {
    pub fn now(self) -> i64 {
        match self {
            Clock::System => chrono::Utc::now().timestamp(),
            Clock::Fixed(t) => t,
        }
    }
}

pub struct EnvTab {
    pub name: String,
    pub secrets: usize,
}

pub struct App {
    pub screen: Screen,
    pub mode: Mode,
    /// The unlocked handle (keys only; no open database). `None` when locked.
    pub vault: Option<Vault>,
    pub vault_path: PathBuf,
    pub project: String,
    pub env: String,
    pub envs: Vec<EnvTab>,
    pub rows: Vec<RowData>,
    /// The health column: flags of the current environment's secrets.
    pub health: HealthView,
    /// Why the current environment's secrets could not be read (the table says it
    /// instead of "no secrets yet"): a team environment this member has no key of.
    pub unreadable: Option<String>,
    /// Indices into `rows` that pass the filter; the selection indexes this.
    pub visible: Vec<usize>,
    pub selected: usize,
    /// First row of the table's window; `update` keeps the selection inside it.
    pub offset: usize,
    /// Rows the table shows at the last known terminal size (PageUp/PageDown).
    pub page: usize,
    /// The terminal's size, from `Action::Resize`; `None` until the first one.
    pub viewport: Option<(u16, u16)>,
    pub filter: TextArea<'static>,
    pub sort: SortKey,
    pub status: Option<Status>,
    pub clock: Clock,
    pub auto_lock: Duration,
    /// The keyfile that unlocked (or created) the vault: offered again after auto-lock.
    pub keyfile: Option<PathBuf>,
    /// This machine's identity, where the team prompts look for it (`TRESOR_IDENTITY`,
    /// or the default).
    pub identity: PathBuf,
    /// Where the remembered keyfile paths and new keyfiles go.
    pub places: Places,
    /// Open on the environment last used with this vault (`places`), unless a project
    /// or environment was asked for (`-p`/`-e`, `TRESOR_PROJECT`/`TRESOR_ENV`).
    pub reopen_last_place: bool,
    /// A form open when auto-lock struck, without its value, with its project and
    /// environment: reopened after unlocking.
    pub kept_form: Option<(String, String, Box<SecretForm>)>,
    pub last_input: Instant,
    pub last_reload: Instant,
    /// The vault file's modification time and size at the last load: the idle reload
    /// skips decrypting the table again when another process has not written since.
    pub file_stamp: Option<(std::time::SystemTime, u64)>,
    pub should_quit: bool,
    /// A copied value's countdown, until the clipboard is cleared.
    pub clip: Option<Clip>,
    /// For the event loop to carry out after `update` (terminal bytes outside a frame).
    pub effects: Vec<Effect>,
    /// On a team replica: the header's sync state (`None` for a vault of one machine).
    pub sync: Option<super::live::SyncView>,
    /// On a team replica: the thread watching the server for changes.
    pub live: Option<super::live::Live>,
}

impl App {
    fn blank(vault_path: PathBuf, project: String, env: String, screen: Screen) -> App {
        let now = Instant::now();
        // Reloads then open only the environments that changed.
        crate::vault::health::scan::keep_scans();
        App {
            screen,
            mode: Mode::Browse,
            vault: None,
            vault_path,
            project,
            env,
            envs: Vec::new(),
            rows: Vec::new(),
            health: HealthView::default(),
            unreadable: None,
            visible: Vec::new(),
            selected: 0,
            offset: 0,
            page: 10,
            viewport: None,
            filter: fields::plain_field("key or description"),
            sort: SortKey::Key,
            status: None,
            clock: Clock::System,
            auto_lock: Duration::from_secs(300),
            keyfile: None,
            identity: super::identity_prompt::identity_path(),
            places: Places::none(),
            reopen_last_place: false,
            kept_form: None,
            last_input: now,
            last_reload: now,
            file_stamp: None,
            should_quit: false,
            clip: None,
            effects: Vec::new(),
            sync: None,
            live: None,
        }
    }

    /// Starts from the command line's options: create, unlock, or unlock at once with a
    /// preset credential (after one "Unlocking…" frame).
    pub fn start(
        places: Places,
        vault_path: PathBuf,
        project: String,
        env: String,
        credential: Option<Credential>,
        auto_lock: Duration,
    ) -> App {
        let mut keyfile = None;
        let screen = if vault_path.exists() {
            keyfile = match &credential {
                Some(Credential::Keyfile(p)) => Some(p.clone()),
                _ => places.remembered_keyfile(&vault_path),
            };
            let mut state = UnlockState::new(keyfile.clone());
            state.pending = credential.is_some();
            state.preset = credential;
            Screen::Unlock(Box::new(state))
        } else {
            Screen::Create(Box::new(CreateState::new(&places.new_keyfile(&vault_path))))
        };
        let mut app = App::blank(vault_path, project, env, screen);
        app.keyfile = keyfile;
        app.places = places;
        app.auto_lock = auto_lock;
        app
    }

    /// After unlocking: the form auto-lock kept, where it was.
    fn reopen_kept_form(&mut self) {
        if let Some((project, env, form)) = self.kept_form.take()
            && project == self.project
            && env == self.env
        {
            self.mode = Mode::Form(form);
            self.info("your unsaved form was kept; the value was cleared");
        }
    }

    /// Remembers the keyfile path that opened this vault, for the next start.
    fn remember_keyfile(&mut self, keyfile: &Path) {
        if let Err(e) = self.places.remember_keyfile(&self.vault_path, keyfile) {
            self.warn(format!(
                "could not remember the keyfile's path for next time: {e}"
            ));
        }
    }

    /// An app already unlocked on the Secrets screen (tests, benches).
    pub fn unlocked(vault: Vault, project: &str, env: &str) -> App {
        let path = vault.path().to_path_buf();
        let mut app = App::blank(path, project.into(), env.into(), Screen::Secrets);
        app.enter_vault(vault);
        app
    }

    fn enter_vault(&mut self, vault: Vault) {
        let mut vault = vault.with_via(Via::Tui);
        // A format-1 vault is upgraded once, before anything can change it; one that
        // needs other credentials for that still opens to read.
        let upgraded = vault.upgrade_before_write();
        self.vault = Some(vault);
        self.screen = Screen::Secrets;
        self.mode = Mode::Browse;
        self.last_input = Instant::now();
        if self.reopen_last_place {
            // Once: after an auto-lock the app is still where the user left it.
            self.reopen_last_place = false;
            self.reopen_remembered_place();
        }
        self.find_place();
        self.load();
        self.start_live(true);
        match upgraded {
            Ok(Some(report)) => self.info(format!(
                "upgraded the vault to format 2: a new data key encrypts all {} values",
                report.values
            )),
            Ok(None) => {}
            Err(e) => self.error(&e),
        }
    }

    /// Goes to the environment last open with this vault, found by its reference among
    /// the vault's environments. One removed since (or a vault rekeyed since, which
    /// changes every reference) leaves the default place, without a word.
    fn reopen_remembered_place(&mut self) {
        let (Some(vault), Some(wanted)) =
            (&self.vault, self.places.remembered_place(&self.vault_path))
        else {
            return;
        };
        let Ok(all) = vault.environment_tabs() else {
            return;
        };
        if let Some(e) = all
            .iter()
            .find(|e| vault.environment_ref(&e.project, &e.name).ok().as_ref() == Some(&wanted))
        {
            self.project = e.project.clone();
            self.env = e.name.clone();
        }
    }

    /// Remembers the environment open now, for the next start (on quit and auto-lock).
    fn remember_place(&mut self) {
        let Some(vault) = &self.vault else { return };
        if !self.envs.iter().any(|e| e.name == self.env) {
            return; // Not a real place (a project without environments).
        }
        let Ok(reference) = vault.environment_ref(&self.project, &self.env) else {
            return;
        };
        // A convenience: failing to write it is not worth a message on the way out.
        let _ = self.places.remember_place(&self.vault_path, &reference);
    }

    /// A project or environment named on the command line that does not exist: say so
    /// and open an existing one, so that what is shown is real and `a` adds somewhere.
    fn find_place(&mut self) {
        let Some(vault) = &self.vault else { return };
        let Ok(all) = vault.environment_tabs() else {
            return; // `load` shows the error.
        };
        if all
            .iter()
            .any(|e| e.project == self.project && e.name == self.env)
        {
            return;
        }
        let mut projects: Vec<String> = all.iter().map(|e| e.project.clone()).collect();
        projects.sort();
        projects.dedup();
        let (project, problem) = if projects.contains(&self.project) {
            let err = VaultError::EnvNotFound {
                project: self.project.clone(),
                env: self.env.clone(),
            };
            (self.project.clone(), err)
        } else {
            let project = if projects.iter().any(|p| p == "default") {
                "default".to_string()
            } else {
                match projects.first() {
                    Some(p) => p.clone(),
                    None => return,
                }
            };
            let err = VaultError::ProjectNotFound {
                project: self.project.clone(),
                projects,
            };
            (project, err)
        };
        let Some(env) = all.iter().find(|e| e.project == project) else {
            return;
        };
        self.project = project;
        self.env = env.name.clone();
        let problem = problem.to_string();
        let problem = problem.trim_end_matches(" (see `tresor env list`)");
        self.warn(format!("{problem}: showing {}/{}", self.project, self.env));
    }

    // ----- status line

    pub fn info(&mut self, text: impl Into<String>) {
        self.set_status(Level::Info, text.into());
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.set_status(Level::Warning, text.into());
    }

    pub fn error(&mut self, err: &VaultError) {
        self.set_status(Level::Error, err.to_string());
    }

    fn set_status(&mut self, level: Level, text: String) {
        self.status = Some(Status {
            level,
            text: text::printable(&text),
            since: Instant::now(),
        });
    }

    // ----- loading and the table model

    /// Re-reads the environment tabs and the current environment's secrets.
    pub fn load(&mut self) {
        self.last_reload = Instant::now();
        self.file_stamp = file_stamp(&self.vault_path);
        let Some(vault) = &self.vault else { return };
        let envs = vault.environment_tabs();
        let list = vault.list(&self.project, &self.env);
        let health = list.is_ok().then(|| {
            let scope = crate::vault::health::Scope::env(&self.project, &self.env);
            vault.health(&scope, self.clock.now())
        });
        match envs {
            Ok(all) => {
                self.envs = all
                    .into_iter()
                    .filter(|e| e.project == self.project)
                    .map(|e| EnvTab {
                        name: e.name,
                        secrets: e.secrets,
                    })
                    .collect();
            }
            Err(e) => self.error(&e),
        }
        match health {
            Some(Ok(report)) => self.health.set(report),
            Some(Err(e)) => {
                self.health.clear();
                self.health.error = Some(text::printable(&e.to_string()));
            }
            None => self.health.clear(),
        }
        self.unreadable = list.as_ref().err().map(|e| text::printable(&e.to_string()));
        match list {
            Ok(infos) => self.set_infos(&infos),
            Err(e) => {
                self.set_infos(&[]);
                self.error(&e);
            }
        }
    }

    /// Builds the display rows once; the selection follows its key when it still exists.
    pub fn set_infos(&mut self, infos: &[SecretInfo]) {
        let keep = self.selected_row().map(|r| r.key.clone());
        self.rows = infos.iter().map(RowData::new).collect();
        rows::sort(&mut self.rows, self.sort);
        self.refilter(keep);
    }

    pub fn filter_text(&self) -> String {
        self.filter.lines().join("")
    }

    fn refilter(&mut self, keep: Option<String>) {
        self.visible = rows::filter(&self.rows, &self.filter_text());
        if self.health.only_flagged {
            let health = &self.health;
            let rows = &self.rows;
            self.visible.retain(|&i| health.is_flagged(&rows[i].key));
        }
        if let Some(k) = keep
            && let Some(pos) = self.visible.iter().position(|&i| self.rows[i].key == k)
        {
            self.selected = pos;
        }
        self.clamp();
    }

    fn clamp(&mut self) {
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }

    pub fn selected_row(&self) -> Option<&RowData> {
        self.visible.get(self.selected).map(|&i| &self.rows[i])
    }

    fn move_by(&mut self, delta: isize) {
        let last = self.visible.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
    }

    /// Shows another environment of the project, from the top of its table.
    pub(super) fn open_env(&mut self, env: String) {
        self.env = env;
        self.selected = 0;
        self.offset = 0;
        self.load();
    }

    fn switch_env(&mut self, forward: bool) {
        let n = self.envs.len();
        if n == 0 {
            return;
        }
        let i = self
            .envs
            .iter()
            .position(|e| e.name == self.env)
            .unwrap_or(0);
        let next = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.open_env(self.envs[next].name.clone());
    }

    // ----- the event loop's entry points

    /// Which part of the key table applies now.
    pub fn mode_kind(&self) -> ModeKind {
        match &self.screen {
            Screen::Create(_) => return ModeKind::Create,
            Screen::Unlock(_) => return ModeKind::Unlock,
            Screen::Secrets => {}
        }
        match &self.mode {
            Mode::Browse => ModeKind::Browse,
            Mode::Filter => ModeKind::Filter,
            Mode::Form(f) if f.focus_is_text() => ModeKind::Form,
            Mode::Form(_) => ModeKind::FormChoice,
            Mode::Confirm { .. } => ModeKind::Confirm,
            Mode::Help { .. } => ModeKind::Help,
            Mode::ProjectPicker(p) if p.new_name.is_some() => ModeKind::PickerNew,
            Mode::ProjectPicker(_) => ModeKind::Picker,
            Mode::NewEnv(_) => ModeKind::EnvNew,
            // The same keys as the delete dialog.
            Mode::RemoveEnv { .. } => ModeKind::Confirm,
            Mode::Reveal(_) => ModeKind::Reveal,
            Mode::History(h) if h.confirm.is_some() => ModeKind::HistoryConfirm,
            Mode::History(_) => ModeKind::History,
            Mode::Copy(c) if c.confirming => ModeKind::CopyConfirm,
            Mode::Copy(_) => ModeKind::CopyPick,
            Mode::Import(i) if i.preview.is_some() => ModeKind::ImportPreview,
            Mode::Import(_) => ModeKind::ImportText,
            Mode::Compare(_) => ModeKind::Compare,
            Mode::Members(m) => m.mode_kind(),
            Mode::TeamIdentity(_) => ModeKind::MemberIdentity,
        }
    }

    /// A key press, as the action the key table maps it to (an unbound key still
    /// counts as being at the keyboard).
    pub fn handle_key(&mut self, key: KeyEvent) {
        let action = keymap::map(self.mode_kind(), key).unwrap_or(Action::Ignore);
        self.update(action);
    }

    /// Whether the filter line is on screen (it takes a row from the table).
    pub fn filter_shown(&self) -> bool {
        matches!(self.mode, Mode::Filter) || !self.filter.is_empty()
    }

    /// After every update: the table's page follows the terminal size, the window keeps
    /// the selection visible and the help stays within its text. The views only read
    /// these.
    fn fit_to_viewport(&mut self) {
        if let Some((_, height)) = self.viewport {
            self.page = super::ui::table_rows(height, self.filter_shown()).max(1);
            if let Mode::Help { scroll } = &mut self.mode {
                *scroll = (*scroll).min(super::ui::help::max_scroll(height));
            }
        }
        self.offset = rows::window_start(self.offset, self.selected, self.visible.len(), self.page);
    }

    /// Time-driven work: auto-lock, the idle reload, status expiry.
    fn tick(&mut self, now: Instant) {
        if self.vault.is_some() && now.saturating_duration_since(self.last_input) >= self.auto_lock
        {
            self.lock();
            return;
        }
        if let Some(s) = &self.status
            && now.saturating_duration_since(s.since) >= STATUS_FOR
        {
            self.status = None;
        }
        if matches!(self.screen, Screen::Secrets)
            && matches!(self.mode, Mode::Browse | Mode::Filter | Mode::Help { .. })
            && now.saturating_duration_since(self.last_reload) >= RELOAD_EVERY
        {
            // A stat is cheap; decrypting a large table every 2 s is not. The full reload
            // every 30 s covers file systems whose timestamps are too coarse to tell.
            let unchanged =
                self.file_stamp.is_some() && file_stamp(&self.vault_path) == self.file_stamp;
            if !unchanged || now.saturating_duration_since(self.last_reload) >= FULL_RELOAD_EVERY {
                self.load();
            }
        }
    }

    /// How long the loop may wait for a key before a tick has work to do.
    pub fn poll_timeout(&self, now: Instant) -> Duration {
        // A team vault's changes arrive from the watcher thread: look for them often.
        let tick = if self.live.is_some() {
            Duration::from_millis(100)
        } else {
            Duration::from_millis(500)
        };
        if self.vault.is_none() {
            return tick;
        }
        let lock_in = self
            .auto_lock
            .saturating_sub(now.saturating_duration_since(self.last_input));
        // Never zero: a spin would burn a core while the lock happens on the next tick.
        lock_in.clamp(Duration::from_millis(10), tick)
    }

    /// Drops the keys (zeroized on drop) and everything shown, back to the unlock screen.
    fn lock(&mut self) {
        self.remember_place();
        self.vault = None;
        self.live = None;
        self.sync = None;
        // A half-filled form is kept without its value; any other modal just closes.
        self.kept_form = match std::mem::replace(&mut self.mode, Mode::Browse) {
            Mode::Form(mut form) if form.has_input() => {
                form.keep_without_value();
                Some((self.project.clone(), self.env.clone(), form))
            }
            _ => None,
        };
        self.rows = Vec::new();
        self.health = HealthView::default();
        crate::vault::health::scan::forget_scans();
        self.visible = Vec::new();
        self.envs = Vec::new();
        self.selected = 0;
        self.offset = 0;
        fields::wipe(&mut self.filter);
        self.screen = Screen::Unlock(Box::new(UnlockState::new(self.keyfile.clone())));
        let mins = self.auto_lock.as_secs() / 60;
        let text = if mins > 0 {
            format!("locked after {mins} min without a key press")
        } else {
            format!(
                "locked after {} s without a key press",
                self.auto_lock.as_secs()
            )
        };
        self.info(text);
    }

    /// True when a slow step (Argon2) waits for its "working…" frame to be drawn.
    pub fn has_pending(&self) -> bool {
        match &self.screen {
            Screen::Create(s) => s.pending,
            Screen::Unlock(s) => s.pending,
            Screen::Secrets => match &self.mode {
                Mode::Members(m) => m.pending(),
                Mode::TeamIdentity(p) => p.unlock.pending,
                _ => false,
            },
        }
    }

    /// Runs the slow step announced by `has_pending`.
    fn slow_step(&mut self) {
        if matches!(self.screen, Screen::Secrets) {
            if matches!(self.mode, Mode::TeamIdentity(_)) {
                return self.team_identity_slow_step();
            }
            return self.members_slow_step();
        }
        let screen = std::mem::replace(&mut self.screen, Screen::Secrets);
        self.screen = match screen {
            Screen::Unlock(mut s) if s.pending => {
                s.pending = false;
                match s.take_credential() {
                    Ok(cred) => {
                        let keyfile = match &cred {
                            Credential::Keyfile(p) => Some(p.clone()),
                            _ => None,
                        };
                        let typed = matches!(cred, Credential::Passphrase(_));
                        match Vault::unlock(&self.vault_path, &cred) {
                            Ok(v) => {
                                self.status = None;
                                // A typed passphrase goes to the agent when it is on,
                                // as at a command's prompt.
                                if typed {
                                    let mode = crate::agent::Mode::from_env();
                                    let _ = crate::agent::offer(&v, mode);
                                }
                                self.enter_vault(v);
                                self.reopen_kept_form();
                                if let Some(k) = &keyfile {
                                    self.remember_keyfile(k);
                                }
                                self.keyfile = keyfile;
                                return;
                            }
                            Err(e) => s.error = Some(text::printable(&e.to_string())),
                        }
                    }
                    Err(e) => s.error = Some(e),
                }
                Screen::Unlock(s)
            }
            Screen::Create(mut s) if s.pending => {
                s.pending = false;
                let (cred, keyfile) = if s.use_keyfile {
                    let p = s.keyfile_path();
                    (NewCredential::Keyfile(p.clone()), Some(p))
                } else {
                    let pass = fields::take_secret(&mut s.passphrase);
                    fields::wipe(&mut s.confirm);
                    (NewCredential::Passphrase(pass, KdfParams::DEFAULT), None)
                };
                match Vault::create_via(&self.vault_path, cred, Via::Tui) {
                    Ok(v) => {
                        self.enter_vault(v);
                        match &keyfile {
                            Some(p) => {
                                self.info(format!(
                                    "vault created; keyfile {} unlocks it: keep it safe",
                                    p.display()
                                ));
                                self.remember_keyfile(p);
                            }
                            None => self.info("vault created"),
                        }
                        self.keyfile = keyfile;
                        return;
                    }
                    Err(e) => s.error = Some(text::printable(&e.to_string())),
                }
                Screen::Create(s)
            }
            other => other,
        };
    }

    // ----- update

    /// The one place the state changes: keys, pastes, ticks, the slow unlock step and
    /// resizes all arrive here as actions.
    pub fn update(&mut self, action: Action) {
        if action.is_input() {
            self.last_input = Instant::now();
        }
        match action {
            Action::Tick(now) => {
                self.tick(now);
                self.tick_values(now);
            }
            Action::SlowStep => self.slow_step(),
            Action::Resize { width, height } => self.viewport = Some((width, height)),
            Action::Live(event) => self.on_live(event),
            action => self.apply(action),
        }
        self.live_after_update();
        self.fit_to_viewport();
    }

    fn apply(&mut self, action: Action) {
        if action == Action::Quit {
            self.remember_place();
            // Nothing copied outlives the app.
            self.clear_clip();
            self.should_quit = true;
            return;
        }
        match &mut self.screen {
            Screen::Create(s) => match action {
                Action::Submit => match s.check() {
                    Ok(()) => s.pending = true,
                    Err(e) => s.error = Some(e),
                },
                Action::NextField | Action::PrevField => s.next_field(),
                Action::ToggleKeyfile => s.toggle_keyfile(),
                Action::ToggleReveal => s.toggle_reveal(),
                Action::Input(i) => s.input(i),
                Action::Paste(p) => s.paste(&p),
                _ => {}
            },
            Screen::Unlock(s) => match action {
                Action::Submit => s.pending = true,
                Action::ToggleKeyfile => s.toggle_keyfile(),
                Action::Input(i) => s.input(i),
                Action::Paste(p) => s.paste(&p),
                _ => {}
            },
            Screen::Secrets => {
                let mode = std::mem::replace(&mut self.mode, Mode::Browse);
                self.mode = match mode {
                    Mode::Browse => self.update_browse(action),
                    Mode::Filter => self.update_filter(action),
                    Mode::Form(form) => self.update_form(form, action),
                    Mode::Confirm { key, focus } => self.update_confirm(key, focus, action),
                    Mode::Help { scroll } => match action {
                        Action::Down => Mode::Help {
                            scroll: scroll.saturating_add(1),
                        },
                        Action::Up => Mode::Help {
                            scroll: scroll.saturating_sub(1),
                        },
                        Action::Cancel => Mode::Browse,
                        _ => Mode::Help { scroll },
                    },
                    Mode::ProjectPicker(p) => self.update_picker(p, action),
                    Mode::NewEnv(state) => self.update_new_env(state, action),
                    Mode::RemoveEnv {
                        env,
                        secrets,
                        focus,
                    } => self.update_remove_env(env, secrets, focus, action),
                    Mode::Reveal(r) => self.update_reveal(r, action),
                    Mode::History(h) => self.update_history(h, action),
                    Mode::Copy(c) => self.update_copy(c, action),
                    Mode::Import(i) => self.update_import(i, action),
                    Mode::Compare(c) => self.update_compare(c, action),
                    Mode::Members(m) => self.update_members(m, action),
                    Mode::TeamIdentity(p) => self.update_team_identity(p, action),
                };
            }
        }
        if let Some(why) = self.vault.as_ref().and_then(Vault::take_audit_failure) {
            self.warn(format!("the audit log could not record that: {why}"));
        }
    }

    fn update_browse(&mut self, action: Action) -> Mode {
        match action {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = self.visible.len().saturating_sub(1),
            Action::PageUp => self.move_by(-(self.page.max(1) as isize)),
            Action::PageDown => self.move_by(self.page.max(1) as isize),
            Action::NextEnv => self.switch_env(true),
            Action::PrevEnv => self.switch_env(false),
            Action::CycleSort => {
                self.sort = self.sort.next();
                let keep = self.selected_row().map(|r| r.key.clone());
                rows::sort(&mut self.rows, self.sort);
                self.refilter(keep);
            }
            Action::Reload => {
                // A replica that lacks keys fetches them (with the identity) instead.
                if let Some(mode) = self.ask_identity_for_keys() {
                    return mode;
                }
                self.sync_for_reload();
                self.load();
                if self.status.as_ref().is_none_or(|s| s.level != Level::Error) {
                    self.info("reloaded");
                }
            }
            Action::OpenAdd => {
                if self.envs.iter().any(|e| e.name == self.env) {
                    return Mode::Form(Box::new(SecretForm::add()));
                }
                self.warn(format!(
                    "no environment `{}` in project `{}`: press {} to pick a project",
                    self.env,
                    self.project,
                    keymap::hint(ModeKind::Browse, Action::OpenPicker)
                ));
            }
            Action::OpenEdit => {
                if let Some(r) = self.selected_row() {
                    return Mode::Form(Box::new(SecretForm::edit(
                        &r.key,
                        r.description_raw(),
                        r.kind,
                    )));
                }
            }
            Action::OpenDelete => {
                if let Some(r) = self.selected_row() {
                    return Mode::Confirm {
                        key: r.key.clone(),
                        focus: ConfirmFocus::Cancel,
                    };
                }
            }
            Action::Copy => self.copy_selected(),
            Action::Reveal => {
                if let Some(mode) = self.reveal_selected() {
                    return mode;
                }
            }
            Action::OpenHistory => {
                if let Some(mode) = self.open_history() {
                    return mode;
                }
            }
            Action::OpenFilter => return Mode::Filter,
            Action::OpenHelp => return Mode::Help { scroll: 0 },
            Action::OpenPicker => return self.open_picker(),
            Action::NewEnv => return self.open_new_env(),
            Action::RemoveEnv => return self.open_remove_env(),
            Action::OpenCopy => return self.open_copy(),
            Action::OpenImport => return self.open_import(),
            Action::OpenCompare => return self.open_compare(),
            Action::OpenMembers => return self.open_members(),
            Action::ToggleFlagged => {
                self.health.only_flagged = !self.health.only_flagged;
                let keep = self.selected_row().map(|r| r.key.clone());
                self.refilter(keep);
            }
            Action::Cancel if !self.filter.is_empty() => {
                fields::wipe(&mut self.filter);
                self.refilter(None);
            }
            _ => {}
        }
        Mode::Browse
    }

    fn update_filter(&mut self, action: Action) -> Mode {
        match action {
            Action::Submit => return Mode::Browse,
            Action::Cancel => {
                fields::wipe(&mut self.filter);
                self.refilter(None);
                return Mode::Browse;
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::Input(i) => {
                let changed = self.filter.input(i);
                if changed {
                    self.refilter(None);
                }
            }
            Action::Paste(p) => {
                self.filter.insert_str(text::paste_single_line(&p));
                self.refilter(None);
            }
            _ => {}
        }
        Mode::Filter
    }

    fn update_form(&mut self, mut form: Box<SecretForm>, action: Action) -> Mode {
        match action {
            Action::Cancel => return Mode::Browse,
            Action::Submit => {
                if let Some(done) = self.submit_form(&mut form) {
                    self.info(done);
                    return Mode::Browse;
                }
            }
            Action::NextField => form.next_field(true),
            Action::PrevField => form.next_field(false),
            Action::Down => form.line_or_field(true),
            Action::Up => form.line_or_field(false),
            Action::ToggleReveal => form.toggle_reveal(),
            Action::Generate => form.generate(),
            Action::TypePrev if form.focus == Field::Type => form.cycle_type(false),
            Action::TypeNext if form.focus == Field::Type => form.cycle_type(true),
            Action::Input(i) => form.input(i),
            Action::Paste(p) => form.paste(&p),
            _ => {}
        }
        Mode::Form(form)
    }

    /// Saves the form; `Some(message)` when done, `None` when the form stays open with
    /// the vault's message next to the field it is about.
    fn submit_form(&mut self, form: &mut SecretForm) -> Option<String> {
        let vault = self.vault.as_ref()?;
        let result = match &form.kind {
            FormKind::Add => {
                let secret = form.new_secret();
                let key = secret.key.clone();
                vault
                    .add(&self.project, &self.env, secret)
                    .map(|_| format!("Created secret {key}"))
            }
            FormKind::Edit { key, .. } => vault
                .edit(&self.project, &self.env, key, form.secret_edit())
                .map(|_| format!("Updated secret {key}")),
        };
        match result {
            Ok(done) => {
                let key = form.key_text();
                self.load();
                if let Some(pos) = self.visible.iter().position(|&i| self.rows[i].key == key) {
                    self.selected = pos;
                }
                Some(text::printable(&done))
            }
            Err(e) => {
                form.show_error(&e);
                // The vault stops at the first problem; both required fields show at once.
                if matches!(e, VaultError::KeyRequired) && form.value_is_empty() {
                    form.value_error = Some(VaultError::ValueRequired.to_string());
                }
                None
            }
        }
    }

    pub fn vault_path(&self) -> &Path {
        &self.vault_path
    }
}

/// What changes when any process commits to the vault file (redb rewrites it in place).
fn file_stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
