//! What happens at event index `i`: ordinary traffic, the migration, and
//! the injected incidents with known ground truth.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::world::{mix, Mfa, User};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    SignIn,
    FederatedSignIn,
    TokenRefresh,
    SignUp,
    PasswordReset,
    PasswordChange,
    SignOut,
    FederationLink,
    UserMigration,
    BulkImport,
    TokenGeneration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Throttled,
    InProgress,
}

/// Which incident an event belongs to (ground truth for detections).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incident {
    CredentialStuffing,
    MfaFatigue,
    ImpossibleTravel,
}

/// One planned event, before rendering into a format.
#[derive(Clone, Debug)]
pub struct Ev {
    pub index: u64,
    pub kind: Kind,
    pub time_ms: i64,
    pub user: User,
    pub outcome: Outcome,
    /// The second factor asked for, and whether it was answered.
    pub mfa: Option<(Mfa, bool)>,
    pub passkey: bool,
    pub risk_level: Option<&'static str>,
    pub risk_decision: &'static str,
    pub compromised: bool,
    pub error_code: Option<&'static str>,
    pub ip: String,
    pub country: &'static str,
    pub city: &'static str,
    pub new_device: bool,
    pub migration_status: Option<&'static str>,
    pub token_size: Option<i64>,
    pub incident: Option<Incident>,
}

/// Fixed facts of a run: sizes of the migration and where incidents sit.
#[derive(Clone, Debug)]
pub struct Plan {
    pub seed: u64,
    pub events: u64,
    pub start_ms: i64,
    pub span_ms: i64,
    pub users: u64,
    pub legacy_users: u64,
    pub lazy_users: u64,
    /// Indices `[0, window_end)` fall in the migration window.
    pub window_end: u64,
    pub lazy_stride: u64,
    pub stuffing: (u64, u64),
    pub fatigue: (u64, u64),
    pub travel: (u64, u64),
}

pub const STUFFING_IP: &str = "185.220.101.7";
pub const TRAVEL_USER: u64 = 7;
pub const FATIGUE_USER: u64 = 11;

impl Plan {
    pub fn new(seed: u64, events: u64, days: u32, end_ms: i64, incidents: bool) -> Self {
        let span_ms = days.max(1) as i64 * 86_400_000;
        let users = (events / 20).clamp(50, 2_000_000);
        let legacy_users = (events / 50).max(10).min(users);
        let lazy_users = legacy_users * 8 / 10;
        let bulk = legacy_users - lazy_users;
        let window_days = days.clamp(1, 60) as u64;
        let window_end = events * window_days / days.max(1) as u64;
        let lazy_room = window_end.saturating_sub(bulk);
        let lazy_stride = (lazy_room / lazy_users.max(1)).max(1);
        let block = |at: u64, len: u64| {
            let len = if incidents { len.min(events / 20) } else { 0 };
            let start = (events * at / 100).min(events.saturating_sub(len));
            (start, start + len)
        };
        Plan {
            seed,
            events,
            start_ms: end_ms - span_ms,
            span_ms,
            users,
            legacy_users,
            lazy_users,
            window_end,
            lazy_stride,
            stuffing: block(70, 150),
            fatigue: block(80, 30),
            travel: block(90, 2),
        }
    }

    fn time_of(&self, i: u64) -> i64 {
        self.start_ms + ((i as u128 * self.span_ms as u128) / self.events.max(1) as u128) as i64
    }

    /// Users after the legacy ones are native Cognito users.
    fn ordinary_user(&self, rng: &mut ChaCha8Rng) -> User {
        // A skew: a fifth of the users make half of the traffic.
        let u = if rng.random_bool(0.5) { rng.random_range(0..self.users.div_ceil(5)) } else { rng.random_range(0..self.users) };
        User::new(self.seed, u)
    }

    /// The event at index `i`.
    pub fn event(&self, i: u64, rng: &mut ChaCha8Rng) -> Ev {
        let t = self.time_of(i) + rng.random_range(0..1000);
        let bulk = self.legacy_users - self.lazy_users;
        if (self.stuffing.0..self.stuffing.1).contains(&i) {
            return self.stuffing(i, rng);
        }
        if (self.fatigue.0..self.fatigue.1).contains(&i) {
            let mut e = base(i, Kind::SignIn, self.time_of(self.fatigue.0) + (i - self.fatigue.0) as i64 * 90_000, User::new(self.seed, FATIGUE_USER));
            e.mfa = Some((Mfa::Sms, false));
            e.outcome = Outcome::Failure;
            e.incident = Some(Incident::MfaFatigue);
            return e;
        }
        if (self.travel.0..self.travel.1).contains(&i) {
            let u = User::new(self.seed, TRAVEL_USER);
            let first = i == self.travel.0;
            let mut e = base(i, Kind::SignIn, self.time_of(self.travel.0) + if first { 0 } else { 20 * 60_000 }, u);
            (e.country, e.city, e.ip) =
                if first { ("United States", "Seattle", "52.94.133.131".into()) } else { ("Japan", "Tokyo", "13.112.0.10".into()) };
            e.incident = Some(Incident::ImpossibleTravel);
            return e;
        }
        if i < self.window_end && i >= self.window_end - bulk.min(self.window_end) {
            let u = self.lazy_users + (i - (self.window_end - bulk));
            let mut e = base(i, Kind::BulkImport, t, User::new(self.seed, u));
            e.migration_status = Some("RESET_REQUIRED");
            return e;
        }
        if i < self.window_end && i.is_multiple_of(self.lazy_stride) && i / self.lazy_stride < self.lazy_users {
            let mut e = base(i, Kind::UserMigration, t, User::new(self.seed, i / self.lazy_stride));
            let ok = mix(self.seed ^ i) % 100 >= 3;
            e.outcome = if ok { Outcome::Success } else { Outcome::Failure };
            e.migration_status = ok.then_some("CONFIRMED");
            return e;
        }
        self.ordinary(i, t, rng)
    }

    fn stuffing(&self, i: u64, rng: &mut ChaCha8Rng) -> Ev {
        let victim = User::new(self.seed, rng.random_range(0..self.users));
        let t = self.time_of(self.stuffing.0) + (i - self.stuffing.0) as i64 * 4_000;
        let mut e = base(i, Kind::SignIn, t, victim);
        e.outcome = Outcome::Failure;
        e.error_code = Some("NotAuthorizedException");
        e.ip = STUFFING_IP.into();
        e.country = "Netherlands";
        e.city = "Amsterdam";
        e.risk_level = Some(if rng.random_bool(0.5) { "High" } else { "Medium" });
        e.risk_decision = "Block";
        e.incident = Some(Incident::CredentialStuffing);
        e
    }

    fn ordinary(&self, i: u64, t: i64, rng: &mut ChaCha8Rng) -> Ev {
        let user = self.ordinary_user(rng);
        let roll = rng.random_range(0..1000);
        let kind = match roll {
            0..=579 => if user.provider.is_some() { Kind::FederatedSignIn } else { Kind::SignIn },
            580..=719 => Kind::TokenRefresh,
            720..=769 => Kind::SignUp,
            770..=799 => Kind::PasswordReset,
            800..=814 => Kind::PasswordChange,
            815..=864 => Kind::SignOut,
            865..=869 => if user.provider.is_some() { Kind::FederationLink } else { Kind::SignIn },
            _ => Kind::TokenGeneration,
        };
        let mut e = base(i, kind, t, user);
        match kind {
            Kind::SignIn => {
                // Throttling comes in bursts: 2% of each hour's last five minutes.
                let minute = (t / 60_000) % 60;
                if minute >= 55 && rng.random_bool(0.25) {
                    e.outcome = Outcome::Throttled;
                    e.error_code = Some("TooManyRequestsException");
                    return e;
                }
                if rng.random_bool(0.08) {
                    e.outcome = Outcome::Failure;
                    e.error_code = Some("NotAuthorizedException");
                } else if e.user.passkey && rng.random_bool(0.7) {
                    e.passkey = true;
                } else if let Some(m) = e.user.mfa {
                    let passed = rng.random_bool(0.93);
                    e.mfa = Some((m, passed));
                    if !passed {
                        e.outcome = Outcome::Failure;
                        e.error_code = Some("CodeMismatchException");
                    }
                }
                let r = rng.random_range(0..1000);
                (e.risk_level, e.risk_decision) = match r {
                    0..=9 => (Some("High"), "AccountTakeover"),
                    10..=49 => (Some("Medium"), "AccountTakeover"),
                    50..=149 => (Some("Low"), "NoRisk"),
                    _ => (None, "NoRisk"),
                };
                e.compromised = rng.random_bool(0.004);
                e.new_device = rng.random_bool(0.05);
            }
            Kind::FederatedSignIn => e.new_device = rng.random_bool(0.05),
            Kind::TokenRefresh if rng.random_bool(0.02) => {
                e.outcome = Outcome::Failure;
                e.error_code = Some("NotAuthorizedException");
            }
            Kind::TokenGeneration => {
                let size = (1200.0 * (rng.random::<f64>() * 1.9).exp()) as i64;
                e.token_size = Some(if rng.random_bool(0.01) { 8192 + rng.random_range(1..4000) } else { size.min(8192) });
            }
            Kind::PasswordReset if rng.random_bool(0.05) => {
                e.outcome = Outcome::Failure;
                e.error_code = Some("LimitExceededException");
            }
            _ => {}
        }
        e
    }
}

fn base(index: u64, kind: Kind, time_ms: i64, user: User) -> Ev {
    Ev {
        index,
        kind,
        time_ms,
        ip: user.ip.clone(),
        country: user.country,
        city: user.city,
        user,
        outcome: Outcome::Success,
        mfa: None,
        passkey: false,
        risk_level: None,
        risk_decision: "NoRisk",
        compromised: false,
        error_code: None,
        new_device: false,
        migration_status: None,
        token_size: None,
        incident: None,
    }
}
