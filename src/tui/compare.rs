//! The compare view's state and update: keys × the project's environments, scrolled
//! like the table (only the rows on screen are drawn), filtered to keys missing
//! somewhere or sharing a value. `App` methods, kept out of `app.rs`.

use crate::vault::{Comparison, RowFilter};

use super::action::Action;
use super::app::{App, Mode};

pub struct CompareState {
    pub comparison: Comparison,
    pub filter: RowFilter,
    /// Indices into `comparison.rows` that pass the filter.
    pub visible: Vec<usize>,
    pub selected: usize,
    /// First visible row drawn, kept by the view.
    pub offset: usize,
    /// Rows shown last frame (for PageUp/PageDown).
    pub page: usize,
}

impl CompareState {
    pub fn new(comparison: Comparison) -> CompareState {
        let mut state = CompareState {
            comparison,
            filter: RowFilter::All,
            visible: Vec::new(),
            selected: 0,
            offset: 0,
            page: 10,
        };
        state.refilter();
        state
    }

    fn refilter(&mut self) {
        let filter = self.filter;
        self.visible = (0..self.comparison.rows.len())
            .filter(|&i| filter.keeps(&self.comparison.rows[i]))
            .collect();
        self.selected = 0;
        self.offset = 0;
    }

    fn toggle(&mut self, filter: RowFilter) {
        self.filter = if self.filter == filter {
            RowFilter::All
        } else {
            filter
        };
        self.refilter();
    }

    fn move_by(&mut self, delta: isize) {
        let last = self.visible.len().saturating_sub(1) as isize;
        self.selected = (self.selected as isize + delta).clamp(0, last.max(0)) as usize;
    }
}

impl App {
    /// Opens the compare view over every environment of the project, in tab order.
    pub(super) fn open_compare(&mut self) -> Mode {
        let Some(vault) = &self.vault else {
            return Mode::Browse;
        };
        let envs: Vec<String> = self.envs.iter().map(|e| e.name.clone()).collect();
        if envs.is_empty() {
            self.warn("no environments to compare: press p to pick a project");
            return Mode::Browse;
        }
        match vault.compare(&self.project, &envs) {
            Ok(c) => Mode::Compare(Box::new(CompareState::new(c))),
            Err(e) => {
                self.error(&e);
                Mode::Browse
            }
        }
    }

    pub(super) fn update_compare(&mut self, mut state: Box<CompareState>, action: Action) -> Mode {
        match action {
            Action::Cancel => return Mode::Browse,
            Action::Up => state.move_by(-1),
            Action::Down => state.move_by(1),
            Action::Top => state.selected = 0,
            Action::Bottom => state.selected = state.visible.len().saturating_sub(1),
            Action::PageUp => state.move_by(-(state.page.max(1) as isize)),
            Action::PageDown => state.move_by(state.page.max(1) as isize),
            Action::CompareMissing => state.toggle(RowFilter::Missing),
            Action::CompareSame => state.toggle(RowFilter::Same),
            _ => {}
        }
        Mode::Compare(state)
    }
}
