//! Stripe, as the operator configured it: the webhook's signing secrets, the Payment
//! Links owners upgrade through, the customer portal, and plans for prices without a
//! `plan` in their metadata. Unset: plans change only by the CLI.

use secrecy::SecretString;

#[derive(Clone, Debug, Default)]
pub struct StripeSettings {
    /// `STRIPE_WEBHOOK_SECRETS`: one or more `whsec_...`, comma-separated (rotation:
    /// an event signed under any of them is accepted).
    pub webhook_secrets: Vec<SecretString>,
    /// `STRIPE_PAYMENT_LINKS`: `plan=url` pairs, comma-separated, in the order given.
    pub payment_links: Vec<(String, String)>,
    /// `STRIPE_PORTAL_URL`: the customer portal's login link.
    pub portal_url: Option<String>,
    /// `STRIPE_PRICE_PLANS`: `price_id=plan` pairs, for prices without `plan` metadata.
    pub price_plans: Vec<(String, String)>,
}

impl StripeSettings {
    pub(crate) fn from_env() -> Result<Self, String> {
        let env = |name: &str| std::env::var(name).unwrap_or_default();
        Ok(StripeSettings {
            webhook_secrets: env("STRIPE_WEBHOOK_SECRETS")
                .split(',')
                .map(str::trim)
                .filter(|secret| !secret.is_empty())
                .map(|secret| SecretString::from(secret.to_string()))
                .collect(),
            payment_links: pairs("STRIPE_PAYMENT_LINKS", &env("STRIPE_PAYMENT_LINKS"))?,
            portal_url: Some(env("STRIPE_PORTAL_URL").trim().to_string())
                .filter(|url| !url.is_empty()),
            price_plans: pairs("STRIPE_PRICE_PLANS", &env("STRIPE_PRICE_PLANS"))?,
        })
    }

    /// The plan `STRIPE_PRICE_PLANS` gives `price`.
    pub(crate) fn plan_of_price(&self, price: &str) -> Option<&str> {
        self.price_plans
            .iter()
            .find(|(id, _)| id == price)
            .map(|(_, plan)| plan.as_str())
    }
}

/// `a=b,c=d` as pairs; a part without `=` or with an empty side stops start-up.
fn pairs(name: &str, text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() && !value.trim().is_empty() => {
                Ok((key.trim().to_string(), value.trim().to_string()))
            }
            _ => Err(format!("{name}: expected name=value pairs, got {part:?}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_read_in_order_and_a_malformed_one_is_refused() {
        assert_eq!(
            pairs(
                "X",
                " business=https://buy.stripe.com/a , starter=https://b "
            )
            .unwrap(),
            vec![
                (
                    "business".to_string(),
                    "https://buy.stripe.com/a".to_string()
                ),
                ("starter".to_string(), "https://b".to_string())
            ]
        );
        assert!(pairs("X", "").unwrap().is_empty());
        for bad in ["business", "=https://a", "business=", "a=b,c"] {
            assert!(pairs("X", bad).is_err(), "{bad}");
        }
    }
}
