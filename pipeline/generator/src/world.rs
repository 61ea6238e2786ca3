//! The simulated world: user pools, app clients, tenants and users, all
//! derived from the seed by hashing so that any event can be generated
//! without shared state (and so in parallel).

/// One Cognito user pool with its app clients and tenants.
#[derive(Debug)]
pub struct Pool {
    pub id: &'static str,
    pub region: &'static str,
    pub clients: &'static [&'static str],
    pub tenants: &'static [&'static str],
    pub domain: &'static str,
}

pub const ACCOUNT_ID: &str = "123456789012";

pub const POOLS: &[Pool] = &[
    Pool {
        id: "us-east-1_Xk9Lm2PqR",
        region: "us-east-1",
        clients: &["3n4b5urk1ft4fl3mg5e62d9ado", "7f2d8c1a9b3e4f5a6b7c8d9e0f", "1example23456789abcdefghij"],
        tenants: &["acme", "globex"],
        domain: "example.com",
    },
    Pool {
        id: "eu-west-1_Qw7Er5TyU",
        region: "eu-west-1",
        clients: &["5k6l7m8n9o0p1q2r3s4t5u6v7w", "2b3c4d5e6f7g8h9i0j1k2l3m4n"],
        tenants: &["initech"],
        domain: "example.org",
    },
    Pool {
        id: "ap-southeast-2_Zx3Cv8BnM",
        region: "ap-southeast-2",
        clients: &["9z8y7x6w5v4u3t2s1r0q9p8o7n"],
        tenants: &["umbrella"],
        domain: "example.net",
    },
];

/// (country, cities) with a weight.
pub const PLACES: &[(&str, &[&str], u32)] = &[
    ("United States", &["Seattle", "New York", "Austin", "Chicago"], 40),
    ("Germany", &["Berlin", "Munich", "Hamburg"], 12),
    ("United Kingdom", &["London", "Manchester"], 10),
    ("Australia", &["Sydney", "Melbourne"], 10),
    ("Japan", &["Tokyo", "Osaka"], 8),
    ("Brazil", &["Sao Paulo"], 6),
    ("India", &["Bengaluru", "Mumbai"], 8),
    ("Canada", &["Toronto", "Vancouver"], 6),
];

pub const DEVICES: &[&str] = &[
    "Chrome 131, Windows 10",
    "Safari 18, iOS 18",
    "Firefox 133, Linux",
    "Chrome 131, Android 15",
    "Edge 131, Windows 11",
    "Safari 18, macOS 15",
];

pub const USER_AGENTS: &[&str] = &[
    "aws-sdk-js/3.700.0 ua/2.1 os/Windows lang/js md/browser#Chrome_131",
    "aws-amplify/6.10.0 framework/react-native",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15",
    "aws-sdk-kotlin/1.3.0 ua/2.1 api/cognito-identity-provider os/android",
];

/// External identity providers: (name, type).
pub const PROVIDERS: &[(&str, &str)] = &[("AzureAD", "SAML"), ("OktaWorkforce", "OIDC"), ("Google", "Google")];

/// A 64-bit mix (splitmix64): the world's only source of per-entity facts.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Cognito's second factors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mfa {
    Sms,
    Totp,
    Email,
}

impl Mfa {
    pub fn challenge(self) -> &'static str {
        match self {
            Mfa::Sms => "SMS_MFA",
            Mfa::Totp => "SOFTWARE_TOKEN_MFA",
            Mfa::Email => "EMAIL_OTP",
        }
    }
    pub fn method(self) -> &'static str {
        match self {
            Mfa::Sms => "sms",
            Mfa::Totp => "totp",
            Mfa::Email => "email",
        }
    }
}

/// One user, derived from (seed, index).
#[derive(Clone, Debug)]
pub struct User {
    pub index: u64,
    pub username: String,
    pub sub: String,
    pub email: String,
    pub pool: &'static Pool,
    pub client: &'static str,
    pub tenant: &'static str,
    pub country: &'static str,
    pub city: &'static str,
    pub ip: String,
    pub device: &'static str,
    pub mfa: Option<Mfa>,
    pub passkey: bool,
    /// Federated through an external IdP.
    pub provider: Option<(&'static str, &'static str)>,
}

const FIRST: &[&str] = &["jane", "john", "maria", "wei", "ahmed", "olga", "liam", "emma", "noah", "sofia", "yuki", "arjun"];
const LAST: &[&str] = &["doe", "smith", "garcia", "chen", "khan", "ivanova", "brown", "muller", "silva", "tanaka", "patel"];

fn pick<T: Copy>(items: &[T], h: u64) -> T {
    items[(h % items.len() as u64) as usize]
}

/// The format of a UUID from 128 hashed bits.
pub fn uuid_like(a: u64, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

impl User {
    pub fn new(seed: u64, index: u64) -> Self {
        let h = |salt: u64| mix(seed ^ mix(index.wrapping_mul(0x100) ^ salt));
        let pool = &POOLS[match h(1) % 10 {
            0..=5 => 0,
            6..=8 => 1,
            _ => 2,
        }];
        let total: u32 = PLACES.iter().map(|p| p.2).sum();
        let mut r = (h(2) % total as u64) as u32;
        let (country, cities) = PLACES
            .iter()
            .find(|(_, _, w)| {
                if r < *w {
                    true
                } else {
                    r -= w;
                    false
                }
            })
            .map(|(c, cs, _)| (*c, *cs))
            .unwrap_or(("United States", &["Seattle"]));
        let first = pick(FIRST, h(3));
        let last = pick(LAST, h(4));
        let tenant = pick(pool.tenants, h(5));
        let mfa = match h(6) % 100 {
            0..=11 => Some(Mfa::Sms),
            12..=33 => Some(Mfa::Totp),
            34..=39 => Some(Mfa::Email),
            _ => None,
        };
        let provider = (h(7) % 100 < 8).then(|| pick(PROVIDERS, h(8)));
        let ip = format!("{}.{}.{}.{}", 20 + h(9) % 180, h(10) % 256, h(11) % 256, 1 + h(12) % 254);
        User {
            index,
            username: format!("{first}.{last}{index}"),
            sub: uuid_like(h(13), h(14)),
            email: format!("{first}.{last}{index}@{tenant}.{}", pool.domain),
            pool,
            client: pick(pool.clients, h(15)),
            tenant,
            country,
            city: pick(cities, h(16)),
            ip,
            device: pick(DEVICES, h(17)),
            mfa,
            passkey: h(18) % 100 < 6,
            provider,
        }
    }
}
