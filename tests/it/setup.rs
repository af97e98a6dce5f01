//! A newcomer's set-up: what the README promises about the toolchain and the network holds
//! for `Cargo.toml`, and the build stamp does not rebuild the crate on every `git status`.

use std::path::Path;

use crate::util::repo_root;

/// `build.rs`, compiled here for its pure parts.
#[allow(dead_code)]
#[path = "../../build.rs"]
mod build_script;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap()
}

#[test]
fn the_readme_states_the_minimum_rust_and_how_to_install() {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let version = manifest["package"]["rust-version"].as_str().unwrap();
    let readme = read("README.md");
    // Before any command a newcomer may copy.
    let setup = &readme[..readme.find("## ").unwrap()];
    assert!(setup.contains(&format!("{version} or newer")), "{setup}");
    assert!(setup.contains("`cargo install --path .`"), "{setup}");
    assert!(setup.contains("crates.io"), "{setup}");
    assert!(setup.contains("never goes online"), "{setup}");
    // Edition 2024 needs 1.85 at least.
    let minor: u32 = version.split('.').nth(1).unwrap().parse().unwrap();
    assert!(minor >= 85, "{version}");
}

#[test]
fn the_build_stamp_watches_head_and_its_branch_but_not_the_index() {
    // A repository whose HEAD is on `main`, as `git` would answer for it.
    let git = |args: &[&str]| -> Option<String> {
        match args {
            ["symbolic-ref", "-q", "HEAD"] => Some("refs/heads/main".to_owned()),
            ["rev-parse", "--git-path", name] => Some(format!(".git/{name}")),
            _ => None,
        }
    };
    let watched = build_script::watched_git_files(&git);
    assert_eq!(
        watched,
        [".git/HEAD", ".git/packed-refs", ".git/refs/heads/main"]
    );
    // `git status` rewrites the index to refresh its stat cache: watching it rebuilt the
    // crate after every `git status`.
    assert!(watched.iter().all(|path| !path.ends_with("index")));
    // Outside a git checkout nothing is watched (and the stamp is empty).
    assert!(build_script::watched_git_files(&|_: &[&str]| None).is_empty());
    assert!(Path::new(&repo_root().join("build.rs")).exists());
}
