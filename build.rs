//! Records which commit of `stance` a binary was built from, for experiment records.
//!
//! Sets `STANCE_GIT_COMMIT` (empty outside a git checkout) and `STANCE_GIT_DIRTY`
//! (`true` when tracked code differs from that commit, `false`, or empty when unknown).
//!
//! Reruns when the code changes or HEAD moves, never merely because git touched its index:
//! `git status` rewrites `.git/index` to refresh its stat cache, and watching it made every
//! `git status` after an edit rebuild the crate. The index is not needed: the dirty flag
//! compares the working tree with HEAD, which changes only when watched code changes or HEAD
//! moves (staging a file changes neither).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The code whose changes make the stamp stale.
const CODE: [&str; 4] = ["src", "Cargo.toml", "Cargo.lock", "build.rs"];

/// The git files that say which commit is checked out, resolved by `git` (which runs
/// `git ARGS…`): HEAD itself, the branch it points to, and `packed-refs`, where that branch
/// lives once git packs it. (Public for the test that reads this file as a module.)
pub fn watched_git_files(git: &dyn Fn(&[&str]) -> Option<String>) -> Vec<String> {
    let mut names = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    names.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    names
        .iter()
        .filter_map(|name| git(&["rev-parse", "--git-path", name]))
        .collect()
}

fn main() {
    for path in CODE {
        println!("cargo:rerun-if-changed={path}");
    }
    // A missing file would count as changed on every build; when one appears or goes (git
    // packs a branch into `packed-refs`), a watched one changes too and the list is redone.
    for path in watched_git_files(&git) {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    let dirty = if commit.is_empty() {
        String::new()
    } else {
        let mut args = vec!["status", "--porcelain", "--untracked-files=no", "--"];
        args.extend(CODE);
        git(&args)
            .map(|status| (!status.is_empty()).to_string())
            .unwrap_or_default()
    };
    println!("cargo:rustc-env=STANCE_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=STANCE_GIT_DIRTY={dirty}");
}
