//! Figures for notebooks and reports (work in progress).
