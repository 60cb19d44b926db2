//! A host may unload the plugin library (dlclose) while threads that ran plugin code live on,
//! and end those threads later: the library must survive that. Rust's std registers a
//! pthread key whose destructor is plugin code on every host thread that asks it for the
//! current thread, and glibc calls it when that thread ends, unmapped or not (a SIGSEGV in
//! `__nptl_deallocate_tsd`, seen when the host tests unloaded the library between tests).
//! The library is therefore linked NODELETE (plugin/build.rs): checked in its ELF dynamic
//! section with binutils' `readelf`, and exercised by loading, running and unloading it on
//! host threads that end afterwards, twice, as a host that rescans does.
//!
//! Whether glibc would have unmapped the library without the flag depends on every thread that
//! ran it (a thread with pending thread-local destructors keeps it mapped), so the flag itself
//! is what is asserted.

mod common;

use clack_host::prelude::PluginEntry;
use common::LoadedPlugin;

/// Whether the plugin binary is mapped into this process.
fn plugin_mapped(path: &std::path::Path) -> bool {
    let canonical = path.canonicalize().expect("plugin path");
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
    maps.lines()
        .any(|line| line.ends_with(canonical.to_str().expect("UTF-8 path")))
}

/// Loads the library on a fresh host thread, instantiates the plugin there (the nice-plug
/// wrapper asks std for the current thread, which registers std's destructor key on this
/// thread), optionally runs it (the tiny model on a second of noise), then drops the instance
/// and the entry, which unloads the library, and lets the thread end.
fn use_and_unload_on_a_host_thread(process: bool) {
    let path = common::plugin_path();
    let host_thread = std::thread::spawn(move || {
        // SAFETY: loading a CLAP plugin runs its code; this is the plugin under test.
        let entry = unsafe { PluginEntry::load(&path) }.expect("loading the plugin");
        let mut plugin = LoadedPlugin::from_entry(entry);
        assert!(!plugin.params().is_empty());
        if process {
            let mut processor = plugin.activate(44_100.0, 512);
            let mut state = 1u32;
            for _ in 0..(44_100 / 512) {
                let left: Vec<f32> = (0..512)
                    .map(|_| {
                        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                    })
                    .collect();
                let mut input = vec![left.clone(), left];
                let mut output = vec![vec![0.0; 512]; 2];
                processor.process(&mut input, &mut output, &[]);
                assert!(output.iter().flatten().all(|s| s.is_finite()));
            }
            processor.finish(&mut plugin);
        }
        drop(plugin); // the last reference to the entry: clack-host deinits and dlcloses it
    });
    // pthread_join returns after the ended thread's key destructors ran: a destructor in
    // unmapped code would have killed the process before this line.
    host_thread.join().expect("the host thread ended cleanly");
}

#[test]
fn the_plugin_library_is_linked_nodelete() {
    let path = common::plugin_path();
    let out = std::process::Command::new("readelf")
        .arg("--dynamic")
        .arg(&path)
        .output()
        .expect("running readelf (binutils)");
    assert!(out.status.success(), "readelf failed on {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let flags = text
        .lines()
        .find(|l| l.contains("(FLAGS_1)"))
        .unwrap_or_else(|| panic!("{} has no FLAGS_1 entry:\n{text}", path.display()));
    assert!(
        flags.split_whitespace().any(|w| w == "NODELETE"),
        "{}: {flags}: the plugin must be linked with -z nodelete (plugin/build.rs)",
        path.display()
    );
}

#[test]
fn the_library_survives_an_unload_while_threads_that_ran_it_end_later() {
    let _guard = common::serial();
    common::use_model(Some(&common::tiny_model()));
    let path = common::plugin_path();
    assert!(
        !plugin_mapped(&path),
        "nothing has loaded the plugin in this process yet"
    );

    use_and_unload_on_a_host_thread(false);
    // dlclose did not unmap it: the flag that keeps the destructors valid is in effect.
    assert!(
        plugin_mapped(&path),
        "{} was unmapped by dlclose: it must be linked with -z nodelete",
        path.display()
    );

    // A host that loads the library again (a rescan, a new project) gets a working plugin, and
    // one that processed audio can be unloaded as well.
    use_and_unload_on_a_host_thread(true);
    use_and_unload_on_a_host_thread(false);
}
