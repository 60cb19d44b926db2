//! `netbend clusters`: per-clip clusters of one audio file (engine::clip_clusters), written in the
//! reference implementation's cluster-file format for `render --clusters` or a config's
//! `cluster-file`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use engine::clustering::write_atomically;
use engine::{ClipClusterOptions, ClipClusterer};

use crate::pipeline::{ModelArgs, bar, read_input};

#[derive(Args, Debug)]
pub struct ClustersArgs {
    /// Input audio file (any rate; stereo is mixed to mono)
    #[arg(long = "in", value_name = "FILE")]
    input: PathBuf,
    /// Cluster file to write (YAML, {layer: [{cluster_index, feature_index}, ...]})
    #[arg(long = "out", value_name = "FILE")]
    output: PathBuf,
    /// Clusters per layer, one per layer, e.g. 5,5,4,4 [default: the manifest's clustering.k]
    #[arg(long, value_name = "K1,K2,..")]
    k: Option<String>,
    /// k-means (Forgy) seed [default: the manifest's clustering.seed]
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    #[command(flatten)]
    model: ModelArgs,
    /// Tests: also write the mean embeddings as JSON {"layer": [[..D..] per channel]}
    #[arg(long, value_name = "FILE", hide = true)]
    dump_embeddings: Option<PathBuf>,
}

/// "5,5,4,4" -> one count (>= 2, as the Python pipeline's --k) per layer.
fn parse_k(text: &str, layers: usize) -> Result<Vec<usize>> {
    let values: Vec<usize> = text
        .split(',')
        .map(|v| v.trim().parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            anyhow::anyhow!("--k {text:?}: expected {layers} integers separated by commas")
        })?;
    if values.len() != layers || values.iter().any(|&v| v < 2) {
        bail!(
            "--k {text:?}: the model has {layers} layers, so give {layers} counts, each at least 2 (e.g. 5,5,4,4)"
        );
    }
    Ok(values)
}

pub fn run(args: &ClustersArgs) -> Result<()> {
    let started = Instant::now();
    let model = args.model.load_model()?;
    let k = match &args.k {
        Some(text) => Some(parse_k(text, model.layers().len())?),
        None => None,
    };
    let mut clusterer = ClipClusterer::new(model, &args.model.runtime_options())?;
    let audio = read_input(&args.input)?;
    let progress = bar(0, "clusters");
    let embeddings =
        clusterer.embed_audio(&audio.channels, audio.sample_rate, &mut |done, total| {
            progress.set_length(total as u64);
            progress.set_position(done as u64);
            true
        })?;
    progress.finish_and_clear();
    let cluster_options = ClipClusterOptions { k, seed: args.seed };
    let map = clusterer.cluster_embeddings(&embeddings.means, &cluster_options)?;
    write_atomically(&args.output, &map.to_yaml())?;
    if let Some(path) = &args.dump_embeddings {
        let layers: Vec<String> = embeddings
            .means
            .iter()
            .enumerate()
            .map(|(l, e)| {
                let rows: Vec<String> = e
                    .outer_iter()
                    .map(|r| {
                        format!(
                            "[{}]",
                            r.iter()
                                .map(|x| format!("{x:e}"))
                                .collect::<Vec<_>>()
                                .join(",")
                        )
                    })
                    .collect();
                format!("\"{}\":[{}]", l + 1, rows.join(","))
            })
            .collect();
        write_atomically(path, &format!("{{{}}}\n", layers.join(",")))?;
    }
    eprintln!(
        "wrote {} (clusters: {}) from {} windows in {:.1} s",
        args.output.display(),
        map.counts(),
        embeddings.windows,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_k;

    #[test]
    fn k_needs_one_count_of_at_least_two_per_layer() {
        assert_eq!(parse_k("5,5,4,4", 4).unwrap(), vec![5, 5, 4, 4]);
        assert!(
            parse_k("5,5,4", 4)
                .unwrap_err()
                .to_string()
                .contains("has 4 layers")
        );
        assert!(
            parse_k("5,5,1,4", 4)
                .unwrap_err()
                .to_string()
                .contains("at least 2")
        );
        assert!(
            parse_k("5,x,4,4", 4)
                .unwrap_err()
                .to_string()
                .contains("integers")
        );
    }
}
