//! The editor opens through the CLAP gui extension, embedded in an X11 window the host made,
//! renders for a while with the shipped model running on the drum break (so the layer view,
//! the spectrograms and the CPU meter have something to show), takes a click on a layer chip
//! (XTEST) that the host then sees as slot 1's new layer and selection, and closes
//! without crashing.
//!
//! Needs an X server: run under Xvfb, e.g.
//! `xvfb-run -s "-screen 0 1400x900x24" cargo test -p netbend --test editor_gui`.
//! Without `DISPLAY` the test says so and passes without opening anything.
//! With `NETBEND_SCREENSHOT=path.png` it also saves a screenshot of the window (ImageMagick's
//! `import`), which is how docs/plugin-editor.png was made.

mod common;

use clack_extensions::gui::{GuiApiType, GuiConfiguration, PluginGui, Window};
use clack_host::prelude::ClapId;
use common::{LoadedPlugin, ParamChange};
use std::time::{Duration, Instant};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, CreateWindowAux, WindowClass};

/// Sets a few slots so the screenshot shows different transforms, selections and motion.
fn configure_some_slots(plugin: &mut LoadedPlugin) -> Vec<ParamChange> {
    let mut changes = Vec::new();
    let mut set = |plugin: &mut LoadedPlugin, name: &str, text: Option<&str>, value: f64| {
        let p = plugin.param(name);
        let value = match text {
            Some(t) => plugin.text_to_value(p.id, t),
            None => value,
        };
        changes.push(ParamChange::new(p.id, value));
    };
    // Slot 1: rotate 30 deg on layer 2, cluster 1.
    set(plugin, "Slot 1 On", None, 1.0);
    set(plugin, "Slot 1 Layer", None, 1.0);
    set(plugin, "Slot 1 Transform", None, 3.0);
    set(plugin, "Slot 1 Rotate", Some("30"), 0.0);
    set(plugin, "Slot 1 Selection", None, 2.0);
    set(plugin, "Slot 1 Cluster", None, 1.0);
    // Slot 2: translate on a random 25 % of layer 1.
    set(plugin, "Slot 2 On", None, 1.0);
    set(plugin, "Slot 2 Transform", None, 1.0);
    set(plugin, "Slot 2 Translate X", Some("25"), 0.0);
    set(plugin, "Slot 2 Selection", None, 1.0);
    set(plugin, "Slot 2 Fraction", Some("25"), 0.0);
    // Slot 1's angle swings once a bar; slot 2 draws a new random quarter every bar.
    set(plugin, "Slot 1 Mod Shape", Some("Triangle"), 0.0);
    set(plugin, "Slot 1 Mod Target", Some("Parameter"), 0.0);
    set(plugin, "Slot 1 Mod Depth", Some("20"), 0.0);
    set(plugin, "Slot 2 Reroll", Some("Every bar"), 0.0);
    // Slot 3: ablate cluster 2 of layer 3 at 60 % mix.
    set(plugin, "Slot 3 On", None, 1.0);
    set(plugin, "Slot 3 Layer", None, 2.0);
    set(plugin, "Slot 3 Selection", None, 2.0);
    set(plugin, "Slot 3 Cluster", None, 2.0);
    set(plugin, "Slot 3 Mix", Some("60"), 0.0);
    // Slot 4: noise (seeded) on cluster 3 of layer 4.
    set(plugin, "Slot 4 On", None, 1.0);
    set(plugin, "Slot 4 Transform", None, 12.0);
    set(plugin, "Slot 4 Layer", None, 3.0);
    set(plugin, "Slot 4 Selection", None, 2.0);
    set(plugin, "Slot 4 Cluster", None, 3.0);
    set(plugin, "Dry/Wet", Some("80"), 0.0);
    changes
}

/// Host blocks fed while the editor is open: about the time between two editor frames.
const BLOCK: usize = 768;

/// A point inside layer 1's "all" chip: the first chip of the layer view's first row (window
/// coordinates of the editor at its default size; see docs/plugin-editor.png).
const LAYER1_ALL_CHIP: (i16, i16) = (138, 151);

/// Stepped values come back as normalised f32 x step count: equal within f32 precision.
fn assert_value(plugin: &mut LoadedPlugin, id: ClapId, expected: f64, what: &str) {
    let value = plugin.get_value(id);
    assert!(
        (value - expected).abs() < 1e-6,
        "{what}: {value}, expected {expected}"
    );
}

/// Clicks a chip with the X server's XTEST extension, as a user would: slot 1 (the selected
/// slot) must then bend all of layer 1 and be on, as the host sees it.
fn click_a_chip(
    conn: &impl Connection,
    root: u32,
    plugin: &mut LoadedPlugin,
    processor: &mut common::Processor,
) {
    use x11rb::protocol::xproto::{BUTTON_PRESS_EVENT, BUTTON_RELEASE_EVENT, MOTION_NOTIFY_EVENT};
    use x11rb::protocol::xtest::ConnectionExt as _;
    let layer = plugin.param("Slot 1 Layer");
    let selection = plugin.param("Slot 1 Selection");
    // Before: the test set slot 1 to cluster 1 of layer 2.
    assert_value(plugin, layer.id, 1.0, "layer");
    assert_value(plugin, selection.id, 2.0, "selection: Cluster");
    let (x, y) = LAYER1_ALL_CHIP;
    // The plugin applies editor changes at the end of a process call (and tells the host there),
    // so the host keeps processing (silence) meanwhile.
    let mut pump = |plugin: &mut LoadedPlugin, ms: u64| {
        let start = Instant::now();
        let mut silence = vec![vec![0.0f32; BLOCK]; 2];
        let mut output = vec![vec![0.0f32; BLOCK]; 2];
        while start.elapsed() < Duration::from_millis(ms) {
            processor.process(&mut silence, &mut output, &[]);
            plugin.pump_main_thread();
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    conn.xtest_fake_input(MOTION_NOTIFY_EVENT, 0, 0, root, x, y, 0)
        .unwrap();
    conn.flush().unwrap();
    pump(plugin, 300);
    conn.xtest_fake_input(BUTTON_PRESS_EVENT, 1, 0, root, x, y, 0)
        .unwrap();
    conn.flush().unwrap();
    pump(plugin, 100);
    conn.xtest_fake_input(BUTTON_RELEASE_EVENT, 1, 0, root, x, y, 0)
        .unwrap();
    conn.flush().unwrap();
    pump(plugin, 500);
    // Stepped parameters: the layer's value is its index (layer 1 = 0), the others their own.
    assert_value(plugin, layer.id, 0.0, "slot 1 layer after the click");
    assert_value(plugin, selection.id, 0.0, "slot 1 selection: All");
    let on = plugin.param("Slot 1 On");
    assert_value(plugin, on.id, 1.0, "on");
}

#[test]
fn editor_opens_through_the_clap_gui_extension() {
    let _serial = common::serial();
    if std::env::var_os("DISPLAY").is_none() {
        eprintln!("editor_gui: no DISPLAY, not opening the editor (run under xvfb-run)");
        return;
    }
    common::use_model(Some(&common::shipped_model()));
    let mut plugin = LoadedPlugin::load();
    let changes = configure_some_slots(&mut plugin);
    let music = dsp::read_audio(common::test_data("drum_break.flac")).expect("drum break");
    let rate = music.sample_rate as f64;
    let mut processor = plugin.activate(rate, BLOCK as u32);

    let (conn, screen_num) = x11rb::connect(None).expect("X11 connection");
    let screen = conn.setup().roots[screen_num].clone();

    let config = GuiConfiguration {
        api_type: GuiApiType::X11,
        is_floating: false,
    };
    let (width, height) = {
        let handle = plugin.instance.plugin_handle();
        let gui: PluginGui = handle.get_extension().expect("gui extension");
        assert!(gui.is_api_supported(&handle, config));
        gui.create(&handle, config).expect("gui create");
        let size = gui.get_size(&handle).expect("gui size");
        (size.width, size.height)
    };
    assert!(
        width >= 800 && height >= 500,
        "editor size {width}x{height}"
    );

    let parent = conn.generate_id().unwrap();
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        parent,
        screen.root,
        0,
        0,
        width as u16,
        height as u16,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(screen.black_pixel),
    )
    .unwrap();
    conn.map_window(parent).unwrap();
    conn.flush().unwrap();
    // Round trip: the plugin uses its own X connection, so the server must have created the
    // window before set_parent (a flush alone raced: BadWindow in ReparentWindow).
    conn.get_input_focus().unwrap().reply().unwrap();

    {
        let handle = plugin.instance.plugin_handle();
        let gui: PluginGui = handle.get_extension().unwrap();
        // SAFETY: `parent` is a live X11 window of this connection until the end of the test.
        unsafe { gui.set_parent(&handle, Window::from_x11_handle(parent as _)) }
            .expect("set_parent");
        gui.show(&handle).expect("show");
    }

    // Feed the drum break (looped, stereo) at about real-time speed while the editor paints.
    let start = Instant::now();
    let mut position = 0usize;
    let mut first = true;
    let mut output = vec![vec![0.0f32; BLOCK]; 2];
    while start.elapsed() < Duration::from_secs(5) {
        let fed = position as f64 / rate;
        if fed < start.elapsed().as_secs_f64() + 0.1 {
            let mut input: Vec<Vec<f32>> = (0..2)
                .map(|c| {
                    let channel = &music.channels[c.min(music.channels.len() - 1)];
                    (0..BLOCK)
                        .map(|i| channel[(position + i) % channel.len()])
                        .collect()
                })
                .collect();
            let block_changes: &[ParamChange] = if first { &changes } else { &[] };
            processor.process(&mut input, &mut output, block_changes);
            first = false;
            position += BLOCK;
        }
        plugin.pump_main_thread();
        std::thread::sleep(Duration::from_millis(4));
    }
    if let Some(path) = std::env::var_os("NETBEND_SCREENSHOT") {
        let status = std::process::Command::new("import")
            .args(["-window", &parent.to_string()])
            .arg(&path)
            .status()
            .expect("running ImageMagick's import");
        assert!(status.success(), "import failed");
    }
    click_a_chip(&conn, screen.root, &mut plugin, &mut processor);
    {
        let handle = plugin.instance.plugin_handle();
        let gui: PluginGui = handle.get_extension().unwrap();
        gui.hide(&handle).ok();
        gui.destroy(&handle);
    }
    conn.destroy_window(parent).unwrap();
    conn.flush().unwrap();
    processor.finish(&mut plugin);
}
