//! `netbend bench --unbent-decoder`: the bend graph's overhead through the engine, against the
//! same weights exported without bend blocks by `python -m netbend_models.bench.vae
//! --save-model` (a small random-weight model, so the test is quick; the figures in
//! models/README.md come from the shipped width).

use netbend_test_support::{
    export_bench_model, netbend, netbend_ok, os, stderr, stdout, test_data, workspace_root,
};

#[test]
fn bend_overhead_lists_every_case_against_the_unbent_export_and_refuses_a_bent_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model");
    export_bench_model(&model, &[]);
    let unbent = model.join("decoder-unbent.onnx");
    let config = workspace_root().join("examples/figure3-stochastic.yaml");
    let out = netbend_ok([
        os("bench"),
        os("--model"),
        model.as_os_str(),
        os("--unbent-decoder"),
        unbent.as_os_str(),
        os("--config"),
        config.as_os_str(),
        os("--threads"),
        os("1"),
        os("--window-reps"),
        os("5"),
    ]);
    let stdout = stdout(&out);
    // One row per case: the reference at ratio 1, then neutral, both "every stage" cases and the
    // config, each with positive times.
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| case"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(names.len(), 5, "{stdout}");
    assert_eq!(names[0], "unbent export");
    assert!(names[1].contains("all neutral"), "{stdout}");
    assert!(names[2].contains("1 channel of every layer"), "{stdout}");
    assert!(names[3].contains("C/8 channels of every layer"), "{stdout}");
    assert!(names[4].contains("figure3-stochastic.yaml"), "{stdout}");
    assert_eq!(rows[0][2], "1.000");
    for row in &rows {
        for cell in [row[1], row[2], row[3], row[4]] {
            let v: f64 = cell.parse().unwrap_or_else(|_| panic!("{cell} in {row:?}"));
            assert!(v > 0.0, "{row:?}");
        }
    }

    // The model's own decoder (with bend inputs) is no reference: refused before measuring.
    let (tiny, decoder) = (test_data("tiny-vae"), test_data("tiny-vae/decoder.onnx"));
    let bent = netbend([
        os("bench"),
        os("--model"),
        tiny.as_os_str(),
        os("--unbent-decoder"),
        decoder.as_os_str(),
    ]);
    let stderr = stderr(&bent);
    assert!(!bent.status.success());
    assert!(
        stderr.contains("tiny-vae/decoder.onnx")
            && stderr.contains("not a decoder without bend blocks"),
        "{stderr}"
    );
}

#[test]
fn render_speed_against_another_model_reports_both_side_by_side_and_names_a_bad_directory() {
    let (tiny, paper) = (
        test_data("tiny-vae"),
        workspace_root().join("models/vae-paper"),
    );
    let out = netbend_ok([
        os("bench"),
        os("--model"),
        tiny.as_os_str(),
        os("--against"),
        paper.as_os_str(),
        os("--seconds"),
        os("1"),
        os("--repeats"),
        os("1"),
        os("--threads"),
        os("1"),
    ]);
    let stdout = stdout(&out);
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("x real time"))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(rows[0].starts_with("neutral:") && rows[0].ends_with("1.00x the first case's time"));
    assert!(rows[1].contains("--against"), "{stdout}");
    // A ratio, not a speed: timings are the benchmark's business, not the test's.
    let ratio: f64 = rows[1]
        .rsplit(", ")
        .next()
        .and_then(|s| s.split('x').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no ratio in {}", rows[1]));
    assert!(ratio > 0.0, "{stdout}");

    let missing = tiny.join("no-such-model");
    let bad = netbend([
        os("bench"),
        os("--model"),
        tiny.as_os_str(),
        os("--against"),
        missing.as_os_str(),
    ]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("no-such-model"), "{}", stderr(&bad));
}
