//! `netbend inspect [MODEL_DIR]`: what a model is and what can be bent in it.

use clap::Args;
use engine::{Model, Runtime, RuntimeOptions, Stage, default_model_dir};
use std::fmt::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Model directory (manifest.json, encoder.onnx, decoder.onnx). Default: the shipped model,
    /// `models/vae/` of the workspace, or NETBEND_MODEL_DIR.
    pub model_dir: Option<PathBuf>,
    /// List every graph input and output with its type and shape (the decoder has dozens).
    #[arg(long)]
    pub all_inputs: bool,
    /// Only read the manifest: do not load ONNX Runtime to check the graphs.
    #[arg(long)]
    pub manifest_only: bool,
}

pub fn run(args: InspectArgs) -> Result<(), String> {
    let (dir, is_default) = match args.model_dir.clone() {
        Some(dir) => (dir, false),
        None => (default_model_dir(), true),
    };
    let model = Model::load(&dir).map_err(|e| {
        if is_default {
            format!("{e}\n(this is the default model directory; give MODEL_DIR, e.g. `netbend inspect tests/data/tiny-vae`, or set NETBEND_MODEL_DIR)")
        } else {
            e.to_string()
        }
    })?;
    print!("{}", describe_model(&model));
    if args.manifest_only {
        return Ok(());
    }
    if model.manifest().kind == engine::ModelKind::StyleGan2 {
        let runtime = engine::ImageRuntime::new(model, &RuntimeOptions::default())
            .map_err(|e| e.to_string())?;
        let mut o =
            String::from("\nGraphs (checked against bend interface 1 with ONNX Runtime):\n");
        for (name, inputs, outputs) in runtime.graph_ports() {
            describe_graph(&mut o, name, &inputs, &outputs, args.all_inputs);
        }
        print!("{o}");
        return Ok(());
    }
    let runtime = Runtime::new(model, &RuntimeOptions::default()).map_err(|e| e.to_string())?;
    print!("{}", describe_graphs(&runtime, args.all_inputs));
    Ok(())
}

/// Everything the manifest says, for people.
pub fn describe_model(model: &Model) -> String {
    let m = model.manifest();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Model {} ({}, {})",
        model.dir().display(),
        m.name,
        m.kind.name()
    );
    if !m.description.is_empty() {
        let _ = writeln!(o, "  {}", m.description);
    }
    match &m.latent_shape {
        Some(shape) => {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            let _ = writeln!(
                o,
                "  latent dimension: {} (a {} map, passed flat)",
                m.latent_dim,
                dims.join(" x ")
            );
        }
        None => {
            let _ = writeln!(o, "  latent dimension: {}", m.latent_dim);
        }
    }
    if let Some(s) = &m.signal {
        let seconds = (s.window_frames * s.hop) as f64 / s.sample_rate as f64;
        let _ = writeln!(
            o,
            "  signal: {} Hz, n_fft {}, hop {}, {} window, {} bins; model windows of {} frames ({seconds:.2} s)",
            s.sample_rate, s.n_fft, s.hop, s.window, s.bins, s.window_frames
        );
    }
    if let (Some(i), Some(sg)) = (&m.image, &m.stylegan2) {
        let _ = writeln!(
            o,
            "  image: {}x{} RGB in [{}, {}]; w+ of {} rows; mean latent: {}",
            i.height, i.width, i.range[0], i.range[1], sg.n_latent, sg.mean_latent_source
        );
    }
    if let Some(n) = &m.normalisation {
        let _ = writeln!(
            o,
            "  normalisation: {}, amin {}, {} dB .. {} dB -> 0 .. 1",
            n.kind, n.amin, n.db_min, n.db_max
        );
    }

    let axes = if m.signal.is_some() {
        "; height is time in frames, width is frequency in bins"
    } else {
        ""
    };
    let _ = writeln!(o, "\nLayers (configs say `layer: N`{axes}):");
    let _ = writeln!(
        o,
        "  layer  channels  height x width  module               activation"
    );
    for l in &m.layers {
        let _ = writeln!(
            o,
            "  {:>5}  {:>8}  {:>6} x {:<5}  {:<20} {}",
            l.index, l.channels, l.height, l.width, l.name, l.activation
        );
    }

    let _ = writeln!(
        o,
        "\nBend stages, in the order each layer's block applies them:"
    );
    for stage in Stage::ALL {
        let params = stage.param_names();
        let params = if params.is_empty() {
            "no params".to_string()
        } else {
            params.join(", ")
        };
        let _ = writeln!(
            o,
            "  {:>2}. {:<16} {params}",
            stage.position(),
            stage.name()
        );
    }

    let _ = writeln!(
        o,
        "\nClusters (select with `features: cluster`, `feature-param: INDEX`):"
    );
    if m.clusters.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for (map, layers) in &m.clusters {
        let _ = writeln!(o, "  map `{map}`:");
        for l in &m.layers {
            let clusters = m.clusters_of(map, l.index);
            if clusters.is_empty() {
                let _ = writeln!(o, "    layer {}: none", l.index);
                continue;
            }
            let sizes: Vec<String> = clusters.iter().map(|c| c.len().to_string()).collect();
            let _ = writeln!(
                o,
                "    layer {}: {} {} (index 0..={}), channels per cluster: {}",
                l.index,
                clusters.len(),
                if clusters.len() == 1 {
                    "cluster"
                } else {
                    "clusters"
                },
                clusters.len() - 1,
                sizes.join(", ")
            );
        }
        if layers.is_empty() {
            let _ = writeln!(o, "    (the map is empty)");
        }
    }
    o
}

/// The graphs as ONNX Runtime reports them (checked against the manifest when the runtime was
/// built).
pub fn describe_graphs(runtime: &Runtime, all: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\nGraphs (checked against bend interface 1 with ONNX Runtime {}):",
        runtime.library().display()
    );
    if let Some((inputs, outputs)) = runtime.encoder_ports() {
        describe_graph(&mut o, "encoder", &inputs, &outputs, all);
    }
    let (inputs, outputs) = runtime.decoder_ports();
    describe_graph(&mut o, "decoder", &inputs, &outputs, all);
    for note in runtime.notes() {
        let _ = writeln!(o, "  note: {note}");
    }
    o
}

/// One graph's inputs (bend inputs summarised unless `all`) and outputs.
fn describe_graph(
    o: &mut String,
    name: &str,
    inputs: &[engine::GraphPort],
    outputs: &[engine::GraphPort],
    all: bool,
) {
    let _ = writeln!(o, "  {name}:");
    let bend_inputs = inputs.iter().filter(|p| p.name.starts_with('L')).count();
    for p in inputs {
        if all || !p.name.starts_with('L') {
            let _ = writeln!(o, "    input  {:<24} {}", p.name, p.kind);
        }
    }
    if !all && bend_inputs > 0 {
        let _ = writeln!(
            o,
            "    input  {:<24} {bend_inputs} bend inputs (idx, mix, params, shuffle source, noise field per layer and stage; --all-inputs lists them)",
            "L{l}.{stage}.*"
        );
    }
    for p in outputs {
        let _ = writeln!(o, "    output {:<24} {}", p.name, p.kind);
    }
}
