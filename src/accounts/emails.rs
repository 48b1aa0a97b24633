//! The words of the emails accounts send. Each carries at most one single-use link
//! on this server; none carries a license key, an API token or a password.

use crate::mail::Email;

/// How long a verification link works, in hours.
pub(crate) const VERIFY_HOURS: i64 = 24;
/// How long a password-reset link works, in hours.
pub(crate) const RESET_HOURS: i64 = 1;

const SIGNATURE: &str = "\n--\nStorno Licensing\n";

pub(crate) fn verify_address(to: &str, origin: &str, token: &str) -> Email {
    Email {
        to: to.into(),
        subject: "Verify your email address".into(),
        text: format!(
            "Confirm that {to} is your address by opening this link:\n\n\
             {origin}/verify-email?token={token}\n\n\
             The link works once, for {VERIFY_HOURS} hours. Until the address is verified, \
             invitations sent to it stay hidden.\n\n\
             If you did not sign up for Storno Licensing or change your email, ignore this \
             message.\n{SIGNATURE}"
        ),
    }
}

pub(crate) fn reset_password(to: &str, origin: &str, token: &str) -> Email {
    Email {
        to: to.into(),
        subject: "Reset your password".into(),
        text: format!(
            "Someone asked to reset the password of the Storno Licensing account {to}.\n\n\
             Choose a new password here:\n\n\
             {origin}/reset-password?token={token}\n\n\
             The link works once, for {RESET_HOURS} hour. Resetting signs you out everywhere.\n\n\
             If it was not you, ignore this message: your password stays as it is.\n{SIGNATURE}"
        ),
    }
}

pub(crate) fn password_changed(to: &str, origin: &str) -> Email {
    Email {
        to: to.into(),
        subject: "Your password was changed".into(),
        text: format!(
            "The password of the Storno Licensing account {to} was just changed.\n\n\
             If it was you, there is nothing to do. If it was not, reset it now at \
             {origin}/forgot-password and check your account's activity.\n{SIGNATURE}"
        ),
    }
}

pub(crate) fn email_change_requested(old: &str, new: &str, origin: &str) -> Email {
    Email {
        to: old.into(),
        subject: "Your email address is being changed".into(),
        text: format!(
            "Someone signed in to the Storno Licensing account {old} asked to change its \
             email address to {new}. The change happens when the link sent to the new \
             address is opened.\n\n\
             If it was not you, reset your password at {origin}/forgot-password: that \
             signs everyone out.\n{SIGNATURE}"
        ),
    }
}

/// What an invitation email says about the invitation.
pub(crate) struct InvitationNotice<'a> {
    pub(crate) to: &'a str,
    pub(crate) organization: &'a str,
    pub(crate) role: &'a str,
    pub(crate) invited_by: &'a str,
    pub(crate) expires_at: &'a str,
}

pub(crate) fn invitation(notice: &InvitationNotice<'_>, origin: &str) -> Email {
    let InvitationNotice {
        to,
        organization,
        role,
        invited_by,
        expires_at,
    } = notice;
    Email {
        to: to.to_string(),
        subject: format!("{invited_by} invites you to {organization} on Storno Licensing"),
        text: format!(
            "{invited_by} invites you to join the organization \"{organization}\" as {role}.\n\n\
             To accept or decline, sign in with {to} (or create an account with that \
             address) and verify it; the invitation then waits on your Account page:\n\n\
             {origin}/account\n\n\
             New here? Create your account at {origin}/sign-up\n\n\
             The invitation is open until {expires_at}.\n{SIGNATURE}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_point_at_this_server_with_the_token_and_say_how_long_they_work() {
        let verify = verify_address("ana@example.com", "https://lic.example", "ab12");
        assert!(verify
            .text
            .contains("https://lic.example/verify-email?token=ab12"));
        assert!(verify.text.contains("24 hours"));
        let reset = reset_password("ana@example.com", "https://lic.example", "cd34");
        assert!(reset
            .text
            .contains("https://lic.example/reset-password?token=cd34"));
        assert!(reset.text.contains("1 hour"));
        assert_eq!(reset.to, "ana@example.com");
    }

    #[test]
    fn an_invitation_names_the_organization_role_and_inviter_and_leads_to_sign_up_or_in() {
        let email = invitation(
            &InvitationNotice {
                to: "bob@corp.example",
                organization: "Acme",
                role: "admin",
                invited_by: "ana@acme.example",
                expires_at: "2026-12-14T10:00:00+00:00",
            },
            "http://localhost:3000",
        );
        assert_eq!(email.to, "bob@corp.example");
        for expected in [
            "\"Acme\"",
            "as admin",
            "ana@acme.example",
            "http://localhost:3000/account",
            "http://localhost:3000/sign-up",
            "2026-12-14T10:00:00+00:00",
        ] {
            assert!(
                email.text.contains(expected),
                "{expected} in {}",
                email.text
            );
        }
    }
}
