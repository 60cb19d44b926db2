//! Link flags of the plugin library (the `cdylib` that hosts load).

fn main() {
    // The first time a host thread runs plugin code that asks for `std::thread::current()` (the
    // nice-plug wrapper does, to tell the main thread from others), the Rust standard library
    // compiled into this library registers a process-wide pthread key whose destructor is code in
    // this library, and it can never be unregistered. A host that unloads the library (dlclose)
    // and later ends such a thread would have glibc call that destructor in unmapped memory
    // (SIGSEGV in `__nptl_deallocate_tsd`). Marking the library NODELETE keeps its code mapped
    // after dlclose, so those destructors stay valid; loading it again reuses the mapping.
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        target_os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    ) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
