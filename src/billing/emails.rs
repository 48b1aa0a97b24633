//! The words of the email billing sends: never a key.

use crate::mail::Email;

pub(crate) fn keys_now_work(to: &str, plan: &str, origin: &str) -> Email {
    Email {
        to: to.into(),
        subject: "Your license keys now work on self-hosted instances".into(),
        text: format!(
            "Your organization is now on the {plan} plan, which includes self-hosting: \
             self-hosted Storno instances using its license keys are licensed from their \
             next validation.\n\n\
             Your keys: {origin}/keys\n\
             Your plan: {origin}/settings/billing\n\
             \n--\nStorno Licensing\n"
        ),
    }
}
