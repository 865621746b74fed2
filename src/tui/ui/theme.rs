//! Colours and styles in one place, so every view agrees.

use ratatui::style::{Color, Modifier, Style};

pub const ACCENT: Color = Color::Cyan;

pub fn key() -> Style {
    Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
}

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn label() -> Style {
    Style::new().fg(Color::Gray)
}

pub fn focused_label() -> Style {
    Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
}

pub fn error() -> Style {
    Style::new().fg(Color::Red)
}

pub fn warning() -> Style {
    Style::new().fg(Color::Yellow)
}

pub fn info() -> Style {
    Style::new().fg(Color::Green)
}

/// A dark grey bar: light enough to see, dark enough that dim text (ages, the action
/// hint) stays readable on it.
pub fn selected_row() -> Style {
    Style::new()
        .bg(Color::Indexed(238))
        .add_modifier(Modifier::BOLD)
}

pub fn button(focused: bool) -> Style {
    if focused {
        // Palette 16 is true black: terminals brighten bold colour 0 into grey.
        Style::new()
            .fg(Color::Indexed(16))
            .bg(ACCENT)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    }
}

pub fn danger_button(focused: bool) -> Style {
    if focused {
        Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
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
    if focused {
        Style::new().bg(Color::Indexed(236))
    } else {
        Style::new()
    }
}

/// Values older than this get the rotation hint in yellow.
pub const ROTATE_AFTER_DAYS: i64 = 90;
