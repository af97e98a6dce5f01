//! Records which commit of `stance` a binary was built from, for experiment records.
//!
//! Sets `STANCE_GIT_COMMIT` (empty outside a git checkout) and `STANCE_GIT_DIRTY`
//! (`true` when tracked code differs from that commit, `false`, or empty when unknown).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn main() {
    // Rebuild the stamp when the code or the checked-out commit changes.
    for path in ["src", "Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let mut watched = vec!["HEAD".to_owned(), "index".to_owned()];
    watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    let dirty = if commit.is_empty() {
        String::new()
    } else {
        git(&[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            "src",
            "Cargo.toml",
            "Cargo.lock",
            "build.rs",
        ])
        .map(|status| (!status.is_empty()).to_string())
        .unwrap_or_default()
    };
    println!("cargo:rustc-env=STANCE_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=STANCE_GIT_DIRTY={dirty}");
}
