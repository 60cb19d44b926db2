//! The optional system packages some tests need, installed by `cargo xtask setup` when it can.
//!
//! - `xvfb` + `xauth`: an X server for the plugin editor test (`xvfb-run ... --test editor_gui`);
//! - `imagemagick`: `import`, the editor screenshot (`NETBEND_SCREENSHOT`);
//! - `ffmpeg`: `netbend animate`'s MP4 and its test (`cli/tests/animate.rs`, with `ffprobe`);
//! - `ardour`: a real DAW for the plugin's end-to-end test (`plugin/tests/ardour.rs`, headless
//!   through `ardour7-lua`).
//!
//! They are installed with `apt-get install -y --no-install-recommends` as root or with
//! passwordless sudo on a system with apt-get (the CI machine: root on a fresh Debian), running
//! `apt-get update` first only when the install fails (a fresh image has no package lists, a
//! long-lived one usually has current ones). Without those, or when apt fails, setup goes on and
//! says in one line which tests will be skipped and how to install the packages: they are never
//! needed to build or use Netbend. apt-get waits up to 10 minutes for the dpkg lock another apt
//! holds (a fresh machine often runs unattended upgrades at first boot) instead of failing.

use std::path::Path;
use std::process::{Command, Stdio};

/// A Debian package and the programs the tests look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    pub name: &'static str,
    pub programs: &'static [&'static str],
    /// What is skipped without it, for the one-line note.
    pub needed_by: &'static str,
}

pub const PACKAGES: [Package; 5] = [
    Package {
        name: "xvfb",
        programs: &["Xvfb", "xvfb-run"],
        needed_by: "the plugin editor GUI test",
    },
    Package {
        name: "xauth",
        programs: &["xauth"],
        needed_by: "the plugin editor GUI test",
    },
    Package {
        name: "imagemagick",
        programs: &["import"],
        needed_by: "editor screenshots (NETBEND_SCREENSHOT)",
    },
    Package {
        name: "ffmpeg",
        programs: &["ffmpeg", "ffprobe"],
        needed_by: "the MP4 animation test",
    },
    Package {
        name: "ardour",
        programs: &["ardour7-lua"],
        needed_by: "the Ardour end-to-end test",
    },
];

/// How long apt-get waits for the dpkg lock another apt process holds, in seconds.
pub const LOCK_TIMEOUT_SECONDS: u32 = 600;

/// How packages could be installed on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    Root,
    PasswordlessSudo,
    Unprivileged,
}

/// What setup does about the optional packages.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    AllPresent,
    /// `apt-get` commands to run, each a full argument vector (with `sudo -n` when needed).
    Install {
        install: Vec<String>,
        update: Vec<String>,
    },
    CannotInstall {
        reason: &'static str,
    },
}

/// The decision, from what is missing and what the machine allows.
pub fn plan(missing: &[Package], has_apt_get: bool, privilege: Privilege) -> Plan {
    if missing.is_empty() {
        return Plan::AllPresent;
    }
    if !has_apt_get {
        return Plan::CannotInstall {
            reason: "no apt-get on this system",
        };
    }
    let prefix: &[&str] = match privilege {
        Privilege::Root => &[],
        Privilege::PasswordlessSudo => &["sudo", "-n"],
        Privilege::Unprivileged => {
            return Plan::CannotInstall {
                reason: "installing needs root or passwordless sudo",
            };
        }
    };
    let lock = format!("DPkg::Lock::Timeout={LOCK_TIMEOUT_SECONDS}");
    let command = |args: &[&str], packages: &[Package]| -> Vec<String> {
        let words = prefix.iter().copied().chain(["apt-get", "-o", &lock]);
        words
            .chain(args.iter().copied())
            .chain(packages.iter().map(|p| p.name))
            .map(String::from)
            .collect()
    };
    Plan::Install {
        install: command(&["install", "-y", "-q", "--no-install-recommends"], missing),
        update: command(&["update", "-q"], &[]),
    }
}

/// The one line printed when packages stay missing: what is skipped and how to install them.
pub fn skip_note(missing: &[Package], reason: &str) -> String {
    let mut skipped: Vec<&str> = missing.iter().map(|p| p.needed_by).collect();
    skipped.dedup();
    let names: Vec<&str> = missing.iter().map(|p| p.name).collect();
    format!(
        "[setup] optional packages {} not installed ({reason}): {} will be skipped; to run them: \
         sudo apt-get install -y --no-install-recommends {}",
        names.join(", "),
        skipped.join(", "),
        names.join(" ")
    )
}

/// Whether `program` is an executable file in a `PATH` directory.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

pub fn missing_packages() -> Vec<Package> {
    PACKAGES
        .iter()
        .filter(|p| !p.programs.iter().all(|program| on_path(program)))
        .copied()
        .collect()
}

fn privilege() -> Privilege {
    let uid = Command::new("id").arg("-u").output().ok();
    if uid.is_some_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0") {
        return Privilege::Root;
    }
    let sudo = Command::new("sudo")
        .args(["-n", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if sudo.is_ok_and(|s| s.success()) {
        Privilege::PasswordlessSudo
    } else {
        Privilege::Unprivileged
    }
}

/// Runs an apt-get argument vector non-interactively; true when it succeeded.
fn apt(args: &[String]) -> bool {
    println!("[setup] {}", args.join(" "));
    Command::new(&args[0])
        .args(&args[1..])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs what is missing when this machine allows it; never fails setup.
pub fn ensure() {
    let missing = missing_packages();
    let has_apt_get = on_path("apt-get") && Path::new("/etc/debian_version").exists();
    let privilege = if missing.is_empty() || !has_apt_get {
        Privilege::Unprivileged
    } else {
        privilege()
    };
    match plan(&missing, has_apt_get, privilege) {
        Plan::AllPresent => {}
        Plan::CannotInstall { reason } => println!("{}", skip_note(&missing, reason)),
        Plan::Install { install, update } => {
            println!(
                "[setup] installing the optional packages the tests need: {}",
                missing.iter().map(|p| p.name).collect::<Vec<_>>().join(" ")
            );
            let installed = apt(&install) || (apt(&update) && apt(&install));
            if !installed {
                println!("{}", skip_note(&missing, "apt-get failed"));
                return;
            }
            let still_missing = missing_packages();
            if !still_missing.is_empty() {
                println!(
                    "{}",
                    skip_note(
                        &still_missing,
                        "installed, but their programs are not on PATH"
                    )
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str) -> Package {
        *PACKAGES.iter().find(|p| p.name == name).unwrap()
    }

    #[test]
    fn nothing_happens_when_every_program_is_present() {
        for privilege in [
            Privilege::Root,
            Privilege::PasswordlessSudo,
            Privilege::Unprivileged,
        ] {
            assert_eq!(plan(&[], true, privilege), Plan::AllPresent);
            assert_eq!(plan(&[], false, privilege), Plan::AllPresent);
        }
    }

    #[test]
    fn root_installs_only_the_missing_packages_and_updates_only_as_a_fallback() {
        let missing = [package("xvfb"), package("ffmpeg")];
        let Plan::Install { install, update } = plan(&missing, true, Privilege::Root) else {
            panic!("root with apt-get must install");
        };
        // Both wait for the dpkg lock another apt holds instead of failing.
        assert_eq!(
            install.join(" "),
            "apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends xvfb ffmpeg"
        );
        assert_eq!(
            update.join(" "),
            "apt-get -o DPkg::Lock::Timeout=600 update -q"
        );
    }

    #[test]
    fn passwordless_sudo_prefixes_both_commands() {
        let missing = [package("imagemagick")];
        let Plan::Install { install, update } = plan(&missing, true, Privilege::PasswordlessSudo)
        else {
            panic!("passwordless sudo with apt-get must install");
        };
        assert_eq!(
            install.join(" "),
            "sudo -n apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
             imagemagick"
        );
        assert_eq!(
            update.join(" "),
            "sudo -n apt-get -o DPkg::Lock::Timeout=600 update -q"
        );
    }

    #[test]
    fn without_apt_get_or_privilege_it_says_what_is_skipped_and_how_to_install() {
        let missing = [package("xvfb"), package("xauth"), package("ffmpeg")];
        assert_eq!(
            plan(&missing, false, Privilege::Root),
            Plan::CannotInstall {
                reason: "no apt-get on this system"
            }
        );
        let Plan::CannotInstall { reason } = plan(&missing, true, Privilege::Unprivileged) else {
            panic!("an unprivileged user cannot install");
        };
        let note = skip_note(&missing, reason);
        assert_eq!(note.lines().count(), 1);
        assert!(note.contains("root or passwordless sudo"), "{note}");
        // Each test named once, even when two of its packages are missing.
        assert_eq!(
            note.matches("the plugin editor GUI test").count(),
            1,
            "{note}"
        );
        assert!(note.contains("the MP4 animation test"), "{note}");
        assert!(
            note.ends_with("apt-get install -y --no-install-recommends xvfb xauth ffmpeg"),
            "{note}"
        );
    }

    #[test]
    fn every_package_name_resolves_in_apt_when_apt_has_package_lists() {
        // A dry run (`apt-get -s`) of the real install: catches a misspelt or renamed package.
        let lists = std::fs::read_dir("/var/lib/apt/lists")
            .ok()
            .is_some_and(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with("_Packages"))
            });
        if !on_path("apt-get") || !lists {
            eprintln!("skipped: no apt-get or no apt package lists on this machine");
            return;
        }
        let names: Vec<&str> = PACKAGES.iter().map(|p| p.name).collect();
        let out = Command::new("apt-get")
            .args(["-s", "install", "--no-install-recommends"])
            .args(&names)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "apt-get -s install {names:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn on_path_finds_executables_only() {
        assert!(on_path("sh"));
        assert!(!on_path("netbend-no-such-program"));
    }
}
