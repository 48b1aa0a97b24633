//! The JSON API's body: a JSON value whose every failure is a JSON error.

use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

/// Requests larger than this are refused with `413`.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;

/// A JSON body. An empty body (or `null`) reads as `{}`, so endpoints whose fields are all
/// optional accept no body at all. Syntax errors are `400`, well-formed JSON of
/// the wrong shape `422`, another content type `415`, more than 16 KiB `413`.
pub(crate) struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| {
                let essence = value.split(';').next().unwrap_or_default().trim();
                essence.eq_ignore_ascii_case("application/json")
                    || (essence.starts_with("application/") && essence.ends_with("+json"))
            });
        let body =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection {
                    BytesRejection::FailedToBufferBody(_) => AppError::PayloadTooLarge,
                    other => AppError::BadRequest(format!("Unreadable request body: {other}")),
                })?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return parse_json(b"{}");
        }
        if is_json != Some(true) {
            return Err(AppError::UnsupportedMediaType);
        }
        parse_json(&body)
    }
}

/// Syntax first (`400`), then shape (`422`): the body must be a JSON object whose
/// fields fit `T`.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<ApiJson<T>, AppError> {
    let mut value: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
        AppError::BadRequest(format!("Request body is not valid JSON: {error}"))
    })?;
    // `null` says "nothing", like an empty body.
    if value.is_null() {
        value = serde_json::json!({});
    }
    if !value.is_object() {
        return Err(AppError::Validation(
            "Request body must be a JSON object".into(),
        ));
    }
    T::deserialize(value)
        .map(ApiJson)
        .map_err(|error| AppError::Validation(describe_data_error(&error)))
}

/// serde's message, minus any echoed value: a wrong-typed field may hold a secret.
fn describe_data_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or_default();
    if ["unknown field", "missing field", "duplicate field"]
        .iter()
        .any(|prefix| text.starts_with(prefix))
    {
        format!("Invalid request body: {text}")
    } else if let Some((_, expected)) = text.split_once(", expected ") {
        format!("Invalid request body: a value has the wrong type (expected {expected})")
    } else {
        "Invalid request body".to_string()
    }
}

/// For optional whole-number fields: JSON Schema counts `24.0` as an integer, and so
/// does the API; `24.5` is the wrong type.
pub(crate) fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    use serde::de::{Error, Unexpected};
    use serde::Deserialize;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(whole) = number.as_i64() {
        return Ok(Some(whole));
    }
    let float = number.as_f64().unwrap_or(f64::NAN);
    // Beyond 2^53 a float no longer says which whole number it means.
    if float.fract() == 0.0 && float.abs() <= 9_007_199_254_740_992.0 {
        Ok(Some(float as i64))
    } else {
        Err(D::Error::invalid_type(
            Unexpected::Float(float),
            &"a whole number",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Probe {
        #[serde(default)]
        instance_name: Option<String>,
        #[serde(default, deserialize_with = "whole_number")]
        grace_period_hours: Option<i64>,
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("instanceName".to_string()),
                        Just("gracePeriodHours".to_string()),
                        any::<String>()
                    ],
                    inner,
                    0..4
                )
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// An error never repeats what was sent: a mistyped field may hold a secret.
    fn assert_refusal_hides_input(error: AppError, input: &str) -> Result<(), TestCaseError> {
        let message = error.to_string();
        prop_assert!(matches!(
            error,
            AppError::BadRequest(_) | AppError::Validation(_)
        ));
        if input.len() >= 8 {
            prop_assert!(!message.contains(input), "{message}");
        }
        Ok(())
    }

    /// Found by the property below: serde_json's default float parsing read this
    /// one as 3602879701925878.5 (now `float_roundtrip`).
    #[test]
    fn large_whole_number_floats_read_exactly() {
        let ApiJson(probe) =
            parse_json::<Probe>(br#"{"gracePeriodHours": 3602879701925878.0}"#).unwrap();
        assert_eq!(probe.grace_period_hours, Some(3602879701925878));
    }

    proptest! {
        #[test]
        fn any_bytes_are_a_body_or_a_400_or_422(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Err(error) = parse_json::<Probe>(&body) {
                prop_assert!(matches!(error, AppError::BadRequest(_) | AppError::Validation(_)));
            }
        }

        #[test]
        fn any_json_is_a_body_or_a_refusal_that_does_not_echo_it(value in json_value()) {
            let text = value.to_string();
            if let Err(error) = parse_json::<Probe>(text.as_bytes()) {
                let strings: Vec<String> = match &value {
                    serde_json::Value::Object(map) => map
                        .values()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect(),
                    _ => vec![],
                };
                for string in strings {
                    assert_refusal_hides_input(AppError::Validation(error.to_string()), &string)?;
                }
            }
        }

        #[test]
        fn whole_numbers_are_accepted_as_integers_or_floats(hours in -(1i64 << 52)..(1i64 << 52)) {
            let as_integer = format!("{{\"gracePeriodHours\": {hours}}}");
            let as_float = format!("{{\"gracePeriodHours\": {hours}.0}}");
            for body in [as_integer, as_float] {
                let ApiJson(probe) = parse_json::<Probe>(body.as_bytes()).unwrap();
                prop_assert_eq!(probe.grace_period_hours, Some(hours));
            }
            let fractional = format!("{{\"gracePeriodHours\": {hours}.5}}");
            prop_assert!(matches!(parse_json::<Probe>(fractional.as_bytes()), Err(AppError::Validation(_))));
        }
    }
}
