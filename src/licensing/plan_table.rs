//! The plans as stored: read for the billing page and the operator, changed by the
//! operator's `plan set`. Validation reads the table on every call, so a change
//! shows at each key's next validation.

use crate::db::{begin_write, WriteQueue};
use crate::error::AppError;
use crate::licensing::plans::{PlanFeatures, PLANS};
use sqlx::AnyPool;

#[derive(Clone)]
pub(crate) struct PlanTable {
    pool: AnyPool,
    writes: WriteQueue,
}

/// A plan's name with its features.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) name: String,
    pub(crate) features: PlanFeatures,
}

impl PlanTable {
    pub(crate) fn new(pool: AnyPool, writes: WriteQueue) -> Self {
        PlanTable { pool, writes }
    }

    /// Every plan, in the order of `PLANS` (community first, free last).
    pub(crate) async fn all(&self) -> Result<Vec<Plan>, AppError> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, features FROM plans")
            .fetch_all(&self.pool)
            .await?;
        let mut plans = rows
            .into_iter()
            .map(|(name, features)| parse(name, &features))
            .collect::<Result<Vec<_>, _>>()?;
        plans.sort_by_key(|plan| PLANS.iter().position(|name| *name == plan.name));
        Ok(plans)
    }

    pub(crate) async fn get(&self, name: &str) -> Result<Plan, AppError> {
        read(&self.pool, name).await
    }

    /// Sets one feature of one plan; returns the plan as it now stands.
    pub(crate) async fn set(
        &self,
        name: &str,
        feature: &str,
        value: &str,
    ) -> Result<Plan, AppError> {
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let features = read(&mut *tx, name)
            .await?
            .features
            .with(feature, value)
            .map_err(AppError::Validation)?;
        let text = serde_json::to_string(&features)
            .map_err(|e| AppError::Internal(format!("plan {name}: {e}")))?;
        sqlx::query("UPDATE plans SET features = $1 WHERE name = $2")
            .bind(text)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(plan = name, feature, value, "plan changed");
        Ok(Plan {
            name: name.to_string(),
            features,
        })
    }
}

/// One plan as stored; an unknown name is refused with the plans there are.
async fn read<'e, E>(executor: E, name: &str) -> Result<Plan, AppError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let (features,): (String,) = sqlx::query_as("SELECT features FROM plans WHERE name = $1")
        .bind(name)
        .fetch_optional(executor)
        .await?
        .ok_or_else(|| unknown_plan(name))?;
    parse(name.to_string(), &features)
}

fn unknown_plan(name: &str) -> AppError {
    AppError::Validation(format!(
        "unknown plan {name:?}; the plans are {}",
        PLANS.join(", ")
    ))
}

fn parse(name: String, features: &str) -> Result<Plan, AppError> {
    let features = serde_json::from_str(features)
        .map_err(|e| AppError::Internal(format!("features of plan {name}: {e}")))?;
    Ok(Plan { name, features })
}
