//! The k-means against scikit-learn (fixture made by `engine/tests/data/kmeans_reference.py`)
//! and SplitMix64 against its published test vector.

use super::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    splitmix64_seed_1234567: Vec<String>,
    cases: Vec<Case>,
}

/// One data set and scikit-learn's result for each initialisation.
#[derive(Deserialize)]
struct Case {
    name: String,
    dim: usize,
    k: usize,
    points: Vec<f64>,
    runs: Vec<Run>,
}

/// Forgy from `seed` (with the Python draw's `forgy` indices), or Lloyd from given `init`.
#[derive(Deserialize)]
struct Run {
    seed: Option<u64>,
    forgy: Option<Vec<usize>>,
    init: Option<Vec<f64>>,
    labels: Vec<usize>,
    centroids: Vec<f64>,
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/kmeans_sklearn.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture JSON")
}

#[test]
fn splitmix64_matches_the_published_test_vector_and_the_python_draw() {
    // 6457827717110365317 is the first output for seed 1234567 in the reference test vectors
    // (Vigna's splitmix64.c); the fixture's five come from the Python generator.
    let fixture = fixture();
    let mut g = SplitMix64::new(1234567);
    let got: Vec<String> = (0..5).map(|_| g.next_u64().to_string()).collect();
    assert_eq!(got[0], "6457827717110365317");
    assert_eq!(got, fixture.splitmix64_seed_1234567);
}

#[test]
fn kmeans_equals_scikit_learn_from_the_same_forgy_points() {
    let fixture = fixture();
    let mut checked = 0;
    for case in &fixture.cases {
        let points = Points::new(&case.points, case.dim).unwrap();
        for run in &case.runs {
            let name = format!("{} seed {:?}", case.name, run.seed);
            let result = match (&run.forgy, &run.init, run.seed) {
                (Some(forgy), None, Some(seed)) => {
                    let r = kmeans(points, case.k, seed, MAX_ITER).unwrap();
                    assert_eq!(&r.init_indices, forgy, "{name}: Forgy draw");
                    r
                }
                (None, Some(init), None) => lloyd(points, init, MAX_ITER).unwrap(),
                _ => panic!("{name}: malformed run"),
            };
            assert!(result.converged, "{name}");
            assert_eq!(result.labels, run.labels, "{name}: labels");
            assert_eq!(result.centroids.len(), run.centroids.len());
            for (i, (a, b)) in result.centroids.iter().zip(&run.centroids).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                    "{name}: centroid value {i}: {a} vs scikit-learn {b}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 14);
}

#[test]
fn forgy_skips_duplicates_and_refuses_too_few_distinct_points() {
    // Points 0 and 1 are equal: whatever the shuffle, at most 2 distinct points exist.
    let data = [1.0, 2.0, 1.0, 2.0, 3.0, 4.0];
    let points = Points::new(&data, 2).unwrap();
    for seed in 0..20 {
        let idx = forgy_indices(points, 2, seed).unwrap();
        assert_ne!(points.row(idx[0]), points.row(idx[1]), "seed {seed}");
    }
    let err = forgy_indices(points, 3, 0).unwrap_err().to_string();
    assert!(err.contains("only 2 distinct points"), "{err}");
    let err = forgy_indices(points, 4, 0).unwrap_err().to_string();
    assert!(err.contains("k must be in 1..=3"), "{err}");
}

#[test]
fn non_finite_points_are_refused() {
    let data = [0.0, f64::NAN, 1.0, 1.0];
    let err = Points::new(&data, 2).unwrap_err().to_string();
    assert!(err.contains("point 0"), "{err}");
}

#[test]
fn clusters_list_ascending_members_per_label() {
    assert_eq!(
        clusters_from_labels(&[1, 0, 1, 2, 0], 4),
        vec![vec![1, 4], vec![0, 2], vec![3], vec![]]
    );
}
