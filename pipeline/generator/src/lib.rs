//! authlake-generator: realistic, deterministic Cognito traffic.
//!
//! - [`world`]: user pools, clients, tenants and users, derived from the seed.
//! - [`scenario`]: what happens at each event index: ordinary traffic with
//!   MFA, passkeys, risk and throttling bursts; a 60-day lazy migration
//!   (about 80% of legacy users on sign-in, 20% by a final bulk import);
//!   federation; injected incidents with known ground truth.
//! - [`render`]: the event in one of Cognito's formats, or canonical JSON.
//!
//! Output is NDJSON, one record per line, identical for the same seed and
//! parameters whatever the number of threads.

pub mod render;
pub mod scenario;
pub mod world;

use std::io::Write;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

pub use render::Format;
use scenario::{Incident, Plan, STUFFING_IP};

/// Events generated per work unit; fixed so output does not depend on the
/// thread count.
const CHUNK: u64 = 32 * 1024;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Params {
    pub events: u64,
    pub days: u32,
    pub seed: u64,
    /// End of the time range, epoch milliseconds.
    pub end_ms: i64,
    pub format: Format,
    pub threads: usize,
    /// Inject the incidents (credential stuffing, MFA fatigue, impossible
    /// travel); without them the traffic is quiet, for alarm baselines.
    pub incidents: bool,
}

/// Ground truth of a generated run, for tests and the demo.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    pub events: u64,
    pub legacy_users: u64,
    pub lazy_migrations_planned: u64,
    pub bulk_imports: u64,
    pub stuffing_ip: String,
    pub stuffing_events: u64,
    pub fatigue_user: String,
    pub fatigue_events: u64,
    pub travel_user: String,
}

impl Truth {
    pub fn to_json(&self) -> Value {
        json!({
            "events": self.events,
            "legacy_users": self.legacy_users,
            "lazy_migrations_planned": self.lazy_migrations_planned,
            "bulk_imports": self.bulk_imports,
            "credential_stuffing": {"ip": self.stuffing_ip, "events": self.stuffing_events},
            "mfa_fatigue": {"username": self.fatigue_user, "events": self.fatigue_events},
            "impossible_travel": {"username": self.travel_user},
        })
    }
}

/// Errors writing generated traffic.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes `params.events` NDJSON lines to `out`; `progress` is called
/// with the number of events written so far.
pub fn generate(params: &Params, out: &mut dyn Write, progress: &mut dyn FnMut(u64)) -> Result<Truth, GenerateError> {
    let plan = Plan::new(params.seed, params.events, params.days, params.end_ms, params.incidents);
    let chunks = params.events.div_ceil(CHUNK);
    let threads = params.threads.max(1) as u64;
    // Generate round k+1 while round k is written: writing 10 GB is as
    // slow as generating it.
    std::thread::scope(|s| -> Result<(), GenerateError> {
        let plan = &plan;
        let spawn_round = |first: u64| {
            (first..(first + threads).min(chunks)).map(|c| s.spawn(move || chunk_bytes(plan, params, c))).collect::<Vec<_>>()
        };
        let mut current = spawn_round(0);
        let mut next = threads;
        while !current.is_empty() {
            let upcoming = spawn_round(next);
            for h in current {
                out.write_all(&h.join().expect("generator thread"))?;
            }
            progress((next * CHUNK).min(params.events));
            next += threads;
            current = upcoming;
        }
        Ok(())
    })?;
    out.flush()?;
    let user = |u| world::User::new(params.seed, u).username;
    Ok(Truth {
        events: params.events,
        legacy_users: plan.legacy_users,
        lazy_migrations_planned: plan.lazy_users.min(plan.window_end / plan.lazy_stride.max(1)),
        bulk_imports: plan.legacy_users - plan.lazy_users,
        stuffing_ip: STUFFING_IP.into(),
        stuffing_events: plan.stuffing.1 - plan.stuffing.0,
        fatigue_user: user(scenario::FATIGUE_USER),
        fatigue_events: plan.fatigue.1 - plan.fatigue.0,
        travel_user: user(scenario::TRAVEL_USER),
    })
}

fn chunk_bytes(plan: &Plan, params: &Params, chunk: u64) -> Vec<u8> {
    let mut rng = ChaCha8Rng::seed_from_u64(world::mix(params.seed ^ world::mix(chunk + 1)));
    let start = chunk * CHUNK;
    let end = (start + CHUNK).min(params.events);
    let mut buf = Vec::with_capacity(((end - start) * 700) as usize);
    for i in start..end {
        let e = plan.event(i, &mut rng);
        let format = match params.format {
            Format::Mixed => render::mixed_format(&e, &mut rng),
            f => f,
        };
        let value = render::render(&e, format, params.seed, &mut rng).unwrap_or_else(|| {
            // The format cannot express this event: write a plain sign-in.
            let mut plain = e.clone();
            plain.kind = scenario::Kind::SignIn;
            plain.outcome = scenario::Outcome::Success;
            plain.passkey = false;
            plain.mfa = None;
            plain.error_code = None;
            plain.incident = None::<Incident>;
            render::render(&plain, format, params.seed, &mut rng).unwrap_or_else(|| render::canonical(&plain, params.seed))
        });
        serde_json::to_writer(&mut buf, &value).expect("JSON to memory");
        buf.push(b'\n');
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(format: Format, threads: usize) -> Vec<u8> {
        let p = Params { events: 5000, days: 30, seed: 7, end_ms: 1_764_000_000_000, format, threads, incidents: true };
        let mut out = Vec::new();
        generate(&p, &mut out, &mut |_| {}).unwrap();
        out
    }

    #[test]
    fn same_seed_same_bytes_whatever_the_threads() {
        assert_eq!(run(Format::Mixed, 1), run(Format::Mixed, 3));
        assert_eq!(run(Format::Mixed, 2).iter().filter(|b| **b == b'\n').count(), 5000);
    }

    #[test]
    fn single_formats_write_only_that_format() {
        let out = run(Format::CloudTrail, 2);
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let v: Value = serde_json::from_slice(line).unwrap();
            let record = v.get("Records").map_or(&v, |r| &r[0]);
            let ct = record.get("eventSource").or_else(|| record.get("detail").and_then(|d| d.get("eventSource")));
            assert_eq!(ct.and_then(Value::as_str), Some("cognito-idp.amazonaws.com"), "{v}");
        }
    }
}
