//! `kitroom import`: the command-line import, with a progress bar.
