//! The two functions compiled rules call besides DataFusion's own:
//! `sigma_json(raw, 'a.b')` reads a CloudTrail field that has no column
//! from the record's `raw` JSON, and `sigma_cidr(ip, 'net')` tells whether
//! an address lies in a network (Sigma's `cidr`).

use std::net::IpAddr;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanArray, StringArray};
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use datafusion::prelude::SessionContext;

/// Registers both functions in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(Json { signature: Signature::string(2, Volatility::Immutable) }));
    ctx.register_udf(ScalarUDF::new_from_impl(CidrMatch { signature: Signature::string(2, Volatility::Immutable) }));
}

/// The second argument: a constant string.
fn constant(name: &str, v: &ColumnarValue) -> Result<String> {
    match v {
        ColumnarValue::Scalar(s) => match s {
            ScalarValue::Utf8(Some(t)) | ScalarValue::Utf8View(Some(t)) | ScalarValue::LargeUtf8(Some(t)) => Ok(t.clone()),
            _ => exec_err!("{name}: the second argument is a string constant"),
        },
        ColumnarValue::Array(_) => exec_err!("{name}: the second argument is a string constant"),
    }
}

/// The first argument as plain strings.
fn strings(v: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    let a = v.to_array(rows)?;
    Ok(arrow::compute::cast(&a, &DataType::Utf8)?)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Json {
    signature: Signature,
}

impl ScalarUDFImpl for Json {
    fn name(&self) -> &str {
        "sigma_json"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let path = constant(self.name(), &args.args[1])?;
        let keys: Vec<&str> = path.split('.').collect();
        let raw = strings(&args.args[0], args.number_rows)?;
        let out: StringArray = raw.as_string::<i32>().iter().map(|r| r.and_then(|text| json_at(text, &keys))).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The value at `keys` in a JSON text: a string as itself, any other
/// value as its JSON text; `None` when absent or null.
pub fn json_at(text: &str, keys: &[&str]) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_str(text).ok()?;
    for k in keys {
        v = v.get_mut(*k)?.take();
    }
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CidrMatch {
    signature: Signature,
}

impl ScalarUDFImpl for CidrMatch {
    fn name(&self) -> &str {
        "sigma_cidr"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let text = constant(self.name(), &args.args[1])?;
        let Some(net) = Cidr::parse(&text) else { return exec_err!("sigma_cidr: {text} is not a network") };
        let ips = strings(&args.args[0], args.number_rows)?;
        let out: BooleanArray =
            ips.as_string::<i32>().iter().map(|ip| ip.map(|ip| ip.parse::<IpAddr>().is_ok_and(|ip| net.contains(ip)))).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy)]
pub struct Cidr {
    base: IpAddr,
    bits: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Option<Self> {
        let (ip, bits) = s.split_once('/').unwrap_or((s, ""));
        let base: IpAddr = ip.trim().parse().ok()?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let bits = if bits.is_empty() { max } else { bits.trim().parse().ok()? };
        (bits <= max).then_some(Self { base, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (a, b, width) = match (self.base, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            _ => return false,
        };
        let shift = width - u32::from(self.bits);
        shift >= 128 || (a >> shift) == (b >> shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_hold_their_addresses_only() {
        let n = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(n.contains("203.0.113.77".parse().unwrap()));
        assert!(!n.contains("203.0.114.1".parse().unwrap()));
        assert!(!n.contains("2001:db8::1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("2001:db8::/32").unwrap().contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none() && Cidr::parse("nope").is_none());
    }

    #[test]
    fn json_fields_are_read_by_path() {
        let raw = r#"{"requestParameters":{"groupName":"Admins","n":3},"userIdentity":{"arn":"arn:aws:iam::1:user/x"}}"#;
        assert_eq!(json_at(raw, &["requestParameters", "groupName"]).as_deref(), Some("Admins"));
        assert_eq!(json_at(raw, &["requestParameters", "n"]).as_deref(), Some("3"));
        assert_eq!(json_at(raw, &["userIdentity", "arn"]).as_deref(), Some("arn:aws:iam::1:user/x"));
        assert_eq!(json_at(raw, &["requestParameters", "missing"]), None);
        assert_eq!(json_at("not json", &["a"]), None);
    }
}
