//! Who is calling, and the one rule for what they may do: a person acts for an
//! organization only through a `Membership`, made after the database confirmed
//! it; without an explicit choice they act in their default organization; only
//! an owner manages keys, members, invitations and the activity log.
//!
//! The names for "who is calling", each with its guarantee:
//! - `User`: a person with an account (the session or a token said so).
//! - `TokenHolder`: the `User` behind a live (known, unrevoked, unexpired) API token.
//! - `TokenCredential`: an API token as stored (its HMAC) and the organization the
//!   request names; not yet checked.
//! - `Membership`: a `User`'s role in one organization, confirmed by the database.
//!
//! The doors wrap them: the API's extractors `ApiCaller` (a `TokenHolder`) and
//! `ApiMember` (a `Membership`), the pages' `PageUser` and `PageMember`
//! (`accounts::session`), which add the browser session.

use crate::accounts::domain::Role;
use crate::accounts::OrganizationDto;
use crate::audit_trail::AuditEvent;
use crate::error::AppError;
use crate::parse::stored_id;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) id: Uuid,
    pub(crate) email: String,
}

#[derive(Debug, Clone)]
pub(crate) struct TokenHolder {
    pub(crate) user: User,
    pub(crate) token_id: Uuid,
}

pub(crate) struct TokenCredential {
    pub(crate) token_hash: String,
    pub(crate) requested: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Membership {
    user_id: Uuid,
    organization_id: Uuid,
    organization_name: String,
    role: Role,
    plan: String,
}

/// A membership as the accounts service reads it, before it becomes a `Membership`.
#[derive(sqlx::FromRow)]
pub(crate) struct MembershipRow {
    pub(crate) organization_id: String,
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) plan: String,
}

impl Membership {
    /// This member's action on their organization, for the audit log.
    pub(crate) fn audit_event(&self, action: &'static str, target: String) -> AuditEvent {
        AuditEvent::in_organization(self.organization_id, self.user_id, action, target)
    }

    /// Only for rows just read from `memberships` (or just written there).
    pub(crate) fn from_row(user_id: Uuid, row: MembershipRow) -> Result<Membership, AppError> {
        Ok(Membership {
            user_id,
            organization_id: stored_id(&row.organization_id)?,
            organization_name: row.name,
            role: stored_role(&row.role)?,
            plan: row.plan,
        })
    }

    pub(crate) fn user_id(&self) -> Uuid {
        self.user_id
    }

    pub(crate) fn organization_id(&self) -> Uuid {
        self.organization_id
    }

    pub(crate) fn organization_name(&self) -> &str {
        &self.organization_name
    }

    pub(crate) fn is_owner(&self) -> bool {
        self.role == Role::Owner
    }

    /// The owner check, the same for every action reserved to owners; anyone else
    /// gets `403` with `refusal` as the message.
    pub(crate) fn require_owner(&self, refusal: &'static str) -> Result<(), AppError> {
        if self.is_owner() {
            Ok(())
        } else {
            Err(AppError::Forbidden(refusal))
        }
    }

    pub(crate) fn to_dto(&self) -> OrganizationDto {
        OrganizationDto {
            id: self.organization_id.to_string(),
            name: self.organization_name.clone(),
            role: self.role,
            plan: self.plan.clone(),
        }
    }
}

/// The organization a request acts on when it names none: the one the user owns
/// if they own exactly one, otherwise the one they joined first (`all` is in
/// joining order). `None` for someone in no organization.
pub(crate) fn default_membership(all: &[Membership]) -> Result<Membership, AppError> {
    let mut owned = all.iter().filter(|m| m.is_owner());
    let default = match (owned.next(), owned.next()) {
        (Some(only_owned), None) => Some(only_owned),
        _ => all.first(),
    };
    default.cloned().ok_or(AppError::OrganizationNotFound)
}

/// A role as stored: anything else is a corrupt row, not bad input.
pub(crate) fn stored_role(raw: &str) -> Result<Role, AppError> {
    Role::parse(raw).map_err(|_| AppError::Internal(format!("unknown role {raw:?} in database")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn membership(organization: u128, role: Role) -> Membership {
        Membership {
            user_id: Uuid::from_u128(1),
            organization_id: Uuid::from_u128(organization),
            organization_name: format!("org {organization}"),
            role,
            plan: "community".into(),
        }
    }

    #[test]
    fn the_default_is_the_only_owned_organization_else_the_first_joined() {
        let joined_first = membership(10, Role::Member);
        let owned = membership(20, Role::Owner);
        let default = default_membership(&[joined_first.clone(), owned.clone()]).unwrap();
        assert_eq!(default, owned);
        let second_owned = membership(30, Role::Owner);
        let default = default_membership(&[joined_first.clone(), owned, second_owned]).unwrap();
        assert_eq!(default, joined_first, "two owned: the first joined");
        let default = default_membership(&[joined_first.clone(), membership(40, Role::Admin)]);
        assert_eq!(
            default.unwrap(),
            joined_first,
            "none owned: the first joined"
        );
        assert!(matches!(
            default_membership(&[]),
            Err(AppError::OrganizationNotFound)
        ));
    }

    #[test]
    fn only_owners_pass_the_owner_check() {
        assert!(membership(1, Role::Owner).require_owner("x").is_ok());
        for role in [Role::Admin, Role::Member] {
            assert!(matches!(
                membership(1, role).require_owner("manage keys"),
                Err(AppError::Forbidden("manage keys"))
            ));
        }
    }
}
