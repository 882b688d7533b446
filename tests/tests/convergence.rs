//! Property test: replicas of one interview doing random concurrent edits and
//! exchanging changes in random order — with duplicates, partial deliveries and
//! restarts from saved bytes — always converge to equal heads and projections.
#![allow(clippy::unwrap_used)]

use fieldvoice_tests::{form, meta};
use proptest::prelude::*;
use serde_json::json;
use survey_model::{Form, Interview, actor_from_uuid};
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Op {
    Nps(usize, i64),
    City(usize, String),
    Verbatim(usize, String),
    Services(usize, Vec<bool>),
    Review(usize, u8),
    Comment(usize, String),
    Tag(usize, u8, bool),
    /// Deliver a shuffled subset (by mask) of `from`'s changes to `to`, some twice.
    Send {
        from: usize,
        to: usize,
        mask: u64,
        dup: bool,
    },
    /// Save to bytes and load again (an app restart).
    Restart(usize),
}

const N: usize = 3;
const SERVICES: [&str; 5] = [
    "mobile_voice",
    "mobile_data",
    "home_internet",
    "mobile_money",
    "enterprise_solutions",
];

fn op() -> impl Strategy<Value = Op> {
    let r = 0..N;
    prop_oneof![
        (r.clone(), 0i64..=10).prop_map(|(r, v)| Op::Nps(r, v)),
        (r.clone(), "[a-zé ]{0,12}").prop_map(|(r, s)| Op::City(r, s)),
        (r.clone(), "[a-z ]{0,30}").prop_map(|(r, s)| Op::Verbatim(r, s)),
        (r.clone(), prop::collection::vec(any::<bool>(), 5)).prop_map(|(r, v)| Op::Services(r, v)),
        (r.clone(), 0u8..4).prop_map(|(r, s)| Op::Review(r, s)),
        (r.clone(), "[a-z]{1,8}").prop_map(|(r, s)| Op::Comment(r, s)),
        (r.clone(), 0u8..3, any::<bool>()).prop_map(|(r, t, on)| Op::Tag(r, t, on)),
        (r.clone(), r.clone(), any::<u64>(), any::<bool>()).prop_map(|(from, to, mask, dup)| {
            Op::Send {
                from,
                to,
                mask,
                dup,
            }
        }),
        r.prop_map(Op::Restart),
    ]
}

fn apply(f: &Form, reps: &mut [Interview], op: &Op) {
    match op {
        Op::Nps(r, v) => reps[*r].set_answer_json(f, "nps", &json!(v)).unwrap(),
        Op::City(r, s) => reps[*r].set_answer_json(f, "city", &json!(s)).unwrap(),
        Op::Verbatim(r, s) => reps[*r].set_answer_json(f, "verbatim", &json!(s)).unwrap(),
        Op::Services(r, flags) => {
            let on: Vec<&str> = SERVICES
                .iter()
                .zip(flags)
                .filter(|(_, on)| **on)
                .map(|(s, _)| *s)
                .collect();
            reps[*r]
                .set_answer_json(f, "services_used", &json!(on))
                .unwrap();
        }
        Op::Review(r, s) => {
            reps[*r]
                .set_review(survey_model::ReviewState::ALL[*s as usize], "c")
                .unwrap();
        }
        Op::Comment(r, s) => {
            reps[*r].add_comment("c", "c", "coordinator", s).unwrap();
        }
        Op::Tag(r, t, on) => reps[*r].set_tag(&format!("theme:{t}"), *on).unwrap(),
        Op::Send {
            from,
            to,
            mask,
            dup,
        } => {
            if from == to {
                return;
            }
            let mut changes = reps[*from].changes_since(&[]);
            // Deterministic shuffle driven by the mask, then a masked subset.
            let n = changes.len();
            for i in 0..n {
                let j = (mask.rotate_left(i as u32) as usize) % n;
                changes.swap(i, j);
            }
            let mut subset: Vec<_> = changes
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << (i % 64)) != 0)
                .map(|(_, c)| c)
                .collect();
            if *dup {
                subset.extend(subset.clone());
            }
            // Out-of-order changes wait in Automerge's queue until their deps arrive.
            reps[*to].doc_mut().apply_changes(subset).unwrap();
        }
        Op::Restart(r) => {
            let bytes = reps[*r].save();
            let actor = reps[*r].doc_mut().get_actor().clone();
            let mut again = Interview::load(&bytes).unwrap();
            again.set_actor(actor);
            reps[*r] = again;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge(ops in prop::collection::vec(op(), 1..60)) {
        let f = form();
        let devs: Vec<Uuid> = (0..N).map(|_| Uuid::new_v4()).collect();
        let origin = Interview::create(&f, meta(&f, "u", "CI", devs[0]), actor_from_uuid(devs[0])).unwrap();
        let mut origin = origin;
        let bytes = origin.save();
        let mut reps: Vec<Interview> = devs
            .iter()
            .map(|d| {
                let mut r = Interview::load(&bytes).unwrap();
                r.set_actor(actor_from_uuid(*d));
                r
            })
            .collect();
        for op in &ops {
            apply(&f, &mut reps, op);
        }
        // Final anti-entropy: everyone sends everything to everyone, twice over.
        // Queued out-of-order changes may still lack deps in the first round; after
        // the second nothing may be missing anywhere.
        for round in 0..2 {
            for from in 0..N {
                for to in 0..N {
                    if from != to {
                        let changes = reps[from].changes_since(&[]);
                        if round == 0 {
                            reps[to].doc_mut().apply_changes(changes).unwrap();
                        } else {
                            reps[to].apply_changes(changes).unwrap();
                        }
                    }
                }
            }
        }
        let mut heads: Vec<_> = reps.iter_mut().map(|r| { let mut h = r.heads(); h.sort(); h }).collect();
        let projections: Vec<_> = reps.iter_mut().map(|r| r.project(Some(&f))).collect();
        let conflicts: Vec<_> = reps.iter().map(|r| r.conflicts()).collect();
        for i in 1..N {
            prop_assert_eq!(&heads[0], &heads[i]);
            prop_assert_eq!(&projections[0], &projections[i]);
            prop_assert_eq!(&conflicts[0], &conflicts[i]);
        }
        heads.dedup();
        prop_assert_eq!(heads.len(), 1);
    }
}

/// Concurrent scalar writes are kept as a visible conflict, not silently dropped;
/// concurrent text edits and per-option flags both survive.
#[test]
fn concurrent_edits_merge_and_conflicts_stay_visible() {
    let f = form();
    let (d1, d2) = (Uuid::new_v4(), Uuid::new_v4());
    let mut a = Interview::create(&f, meta(&f, "u", "CI", d1), actor_from_uuid(d1)).unwrap();
    // With consent, so every answer below is relevant and projected.
    a.set_answer_json(&f, "consent", &json!(true)).unwrap();
    a.set_answer_json(&f, "verbatim", &json!("network is slow"))
        .unwrap();
    a.set_answer_json(&f, "services_used", &json!(["mobile_voice"]))
        .unwrap();
    let mut b = Interview::load(&a.save()).unwrap();
    b.set_actor(actor_from_uuid(d2));
    a.set_answer_json(&f, "nps", &json!(3)).unwrap();
    b.set_answer_json(&f, "nps", &json!(8)).unwrap();
    a.set_answer_json(&f, "verbatim", &json!("the network is slow"))
        .unwrap();
    b.set_answer_json(&f, "verbatim", &json!("network is slow at night"))
        .unwrap();
    a.set_answer_json(
        &f,
        "services_used",
        &json!(["mobile_voice", "mobile_money"]),
    )
    .unwrap();
    b.set_answer_json(
        &f,
        "services_used",
        &json!(["mobile_voice", "home_internet"]),
    )
    .unwrap();
    let ca = a.changes_since(&[]);
    let cb = b.changes_since(&[]);
    a.apply_changes(cb).unwrap();
    b.apply_changes(ca).unwrap();
    let (ra, rb) = (a.project(Some(&f)), b.project(Some(&f)));
    assert_eq!(ra, rb);
    assert_eq!(
        ra.answers["verbatim"],
        json!("the network is slow at night")
    );
    assert_eq!(
        ra.answers["services_used"],
        json!(["home_internet", "mobile_money", "mobile_voice"])
    );
    let conflicts = a.conflicts();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].question, "nps");
    let mut vals = conflicts[0].values.clone();
    vals.sort_by_key(|v| v.as_i64());
    assert_eq!(vals, vec![json!(3), json!(8)]);
    assert_eq!(ra.conflicts, vec!["nps".to_owned()]);
}
