//! Colours and styles in one place, so every view agrees.
//!
//! Three palettes: 256 colours (the default), the 16 basic colours for the Linux console
//! (`TERM=linux`: no 256-colour codes, fonts without rounded corners) and no colour at all
//! (`NO_COLOR`), where the selection and the active tab are shown by reverse video and
//! bold instead: NO_COLOR removes colour, not emphasis.

use std::cell::Cell;
use std::ffi::OsStr;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::BorderType;

/// What the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// 256 colours and rounded corners.
    Full,
    /// The 16 basic colours and plain borders (the Linux console, old terminals).
    Basic,
    /// No colour: bold, reverse, underline and dim only.
    NoColor,
}

impl Palette {
    /// From `NO_COLOR` (set and not empty: no colour, per no-color.org) and `TERM`.
    pub fn from_env(no_color: Option<&OsStr>, term: Option<&OsStr>) -> Palette {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return Palette::NoColor;
        }
        let term = term.and_then(OsStr::to_str).unwrap_or("");
        if matches!(
            term,
            "linux" | "vt100" | "vt102" | "vt220" | "ansi" | "cons25"
        ) {
            Palette::Basic
        } else {
            Palette::Full
        }
    }
}

thread_local! {
    // Per thread, so tests drawing in parallel can each pick one; the TUI sets it once.
    static PALETTE: Cell<Palette> = const { Cell::new(Palette::Full) };
}

pub fn set_palette(palette: Palette) {
    PALETTE.with(|p| p.set(palette));
}

pub fn palette() -> Palette {
    PALETTE.with(Cell::get)
}

fn no_color() -> bool {
    palette() == Palette::NoColor
}

pub const ACCENT: Color = Color::Cyan;

/// A colour, or nothing under NO_COLOR.
fn fg(style: Style, color: Color) -> Style {
    if no_color() { style } else { style.fg(color) }
}

pub fn key() -> Style {
    fg(Style::new(), ACCENT).add_modifier(Modifier::BOLD)
}

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn dim() -> Style {
    match palette() {
        Palette::NoColor => Style::new().add_modifier(Modifier::DIM),
        _ => Style::new().fg(Color::DarkGray),
    }
}

pub fn label() -> Style {
    fg(Style::new(), Color::Gray)
}

pub fn focused_label() -> Style {
    fg(Style::new(), ACCENT).add_modifier(Modifier::BOLD)
}

/// The active environment tab.
pub fn active_tab() -> Style {
    match palette() {
        Palette::NoColor => Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        _ => focused_label(),
    }
}

pub fn error() -> Style {
    match palette() {
        Palette::NoColor => Style::new().add_modifier(Modifier::BOLD),
        _ => Style::new().fg(Color::Red),
    }
}

pub fn warning() -> Style {
    fg(Style::new(), Color::Yellow)
}

pub fn info() -> Style {
    fg(Style::new(), Color::Green)
}

/// A dark grey bar: light enough to see, dark enough that dim text (ages, the action
/// hint) stays readable on it. Without 256 colours: reverse video.
pub fn selected_row() -> Style {
    match palette() {
        Palette::Full => Style::new()
            .bg(Color::Indexed(238))
            .add_modifier(Modifier::BOLD),
        Palette::Basic | Palette::NoColor => {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
}

pub fn button(focused: bool) -> Style {
    if !focused {
        return Style::new().add_modifier(Modifier::BOLD);
    }
    match palette() {
        // Palette 16 is true black: terminals brighten bold colour 0 into grey.
        Palette::Full => Style::new()
            .fg(Color::Indexed(16))
            .bg(ACCENT)
            .add_modifier(Modifier::BOLD),
        Palette::Basic => Style::new()
            .fg(Color::Black)
            .bg(ACCENT)
            .add_modifier(Modifier::BOLD),
        Palette::NoColor => Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
    }
}

pub fn danger_button(focused: bool) -> Style {
    match (palette(), focused) {
        (Palette::NoColor, true) => Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        (Palette::NoColor, false) => Style::new().add_modifier(Modifier::BOLD),
        (_, true) => Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD),
        (_, false) => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    }
}

/// The field being typed into: a visible cursor. Others hide theirs.
pub fn cursor(focused: bool) -> Style {
    if focused {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new()
    }
}

pub fn input_bg(focused: bool) -> Style {
    match palette() {
        Palette::Full if focused => Style::new().bg(Color::Indexed(236)),
        // The focused field is underlined where no grey background exists.
        Palette::Basic | Palette::NoColor if focused => {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
        _ => Style::new(),
    }
}

/// Rounded corners need a font that has them; the Linux console's often do not.
pub fn border() -> BorderType {
    match palette() {
        Palette::Basic => BorderType::Plain,
        Palette::Full | Palette::NoColor => BorderType::Rounded,
    }
}

/// Makes a drawn frame obey the palette whatever a widget chose by default (the text
/// area's grey placeholder, say): no colour at all under NO_COLOR, and only the 16 basic
/// colours on a basic terminal.
pub fn enforce(buf: &mut Buffer) {
    let palette = palette();
    if palette == Palette::Full {
        return;
    }
    let keep = |c: Color| match (palette, c) {
        (Palette::NoColor, _) | (_, Color::Indexed(_) | Color::Rgb(..)) => Color::Reset,
        (_, c) => c,
    };
    for cell in &mut buf.content {
        cell.fg = keep(cell.fg);
        cell.bg = keep(cell.bg);
    }
}

/// Values older than this get the rotation hint in yellow.
pub const ROTATE_AFTER_DAYS: i64 = 90;
