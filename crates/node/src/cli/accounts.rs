//! `beredd user create` and the demo's first admin: accounts are made through the cluster
//! service of a running node (forwarded to the leader) as the cluster's own bootstrap actor,
//! which is how a brand-new cluster gets its first administrator.

use crate::cli::cluster::{connect, leader_addr};
use crate::proto::pb::cluster::ForwardRequest;
use anyhow::{Context, Result, anyhow, bail};
use domain::command::UserFields;
use domain::{Command, CommandId, Envelope, Role, UnitId, UserId, Verdict};
use serde::Serialize;
use time::OffsetDateTime;

/// What `beredd user create` prints and `beredd demo` writes to `credentials.json`.
#[derive(Serialize, serde::Deserialize, Clone, Debug)]
pub struct Credentials {
    pub admin_user: String,
    pub admin_password: String,
    pub api_token: String,
}

/// Runs `cmd` on the cluster as the bootstrap actor and returns its verdict.
pub async fn submit_system(node: &str, id: CommandId, cmd: Command) -> Result<Verdict> {
    let leader = leader_addr(node).await?;
    let env = Envelope { id, at: OffsetDateTime::now_utc(), origin: 0, actor: None, cmd };
    let reply = connect(&leader)
        .await?
        .forward(ForwardRequest { envelope: domain::codec::encode_envelope(&env) })
        .await
        .map_err(|s| anyhow!("{}", s.message()))?
        .into_inner();
    Ok(crate::proto::dec(&reply.verdict)?)
}

fn applied(v: Verdict, what: &str) -> Result<()> {
    match v {
        Verdict::Applied { .. } => Ok(()),
        Verdict::Rejected { rejection } => bail!("{what}: {} ({})", rejection, rejection.code()),
        Verdict::Nothing => Ok(()),
    }
}

pub struct NewUser {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub units: Vec<String>,
    pub password: Option<String>,
}

/// Creates a user with a password (generated if none is given) and an API token.
pub async fn create_user(node: &str, u: NewUser, key: &str) -> Result<Credentials> {
    let password = u.password.unwrap_or_else(web::credentials::random_password);
    if password.chars().count() < web::credentials::MIN_PASSWORD {
        bail!("the password must have at least {} characters", web::credentials::MIN_PASSWORD);
    }
    let hash = web::credentials::hash_password(&password).map_err(|e| anyhow!(e.message))?;
    let fields = UserFields {
        id: UserId::new(&u.id),
        name: u.name,
        role: u.role,
        units: u.units.into_iter().map(UnitId::new).collect(),
        password_hash: Some(hash),
        expires_at: None,
    };
    let v = submit_system(node, CommandId::new(format!("{key}:user:{}", u.id)), Command::CreateUser(fields))
        .await
        .context("creating the user")?;
    applied(v, "creating the user")?;
    let t = web::credentials::new_token();
    let cmd = Command::CreateToken {
        token_id: t.id.clone(),
        user_id: UserId::new(&u.id),
        secret_sha256: t.secret_sha256,
        label: "created with beredd user create".into(),
        expires_at: Some(OffsetDateTime::now_utc() + web::credentials::TOKEN_DEFAULT_LIFETIME),
    };
    applied(submit_system(node, CommandId::new(format!("{key}:token:{}", t.id)), cmd).await?, "creating the token")?;
    Ok(Credentials { admin_user: u.id, admin_password: password, api_token: t.token })
}

/// The demo's administrator: reuses `DIR/credentials.json`, or creates the account (or, if it
/// exists but the file was lost, gives it a new password and token) and writes the file.
pub async fn demo_admin(node: &str, file: &std::path::Path) -> Result<Credentials> {
    if let Ok(bytes) = std::fs::read(file)
        && let Ok(c) = serde_json::from_slice::<Credentials>(&bytes)
    {
        return Ok(c);
    }
    let key = format!("demo:{}", uuid::Uuid::new_v4());
    let admin = || NewUser {
        id: "admin".into(),
        name: "Demo Administratör".into(),
        role: Role::Admin,
        units: Vec::new(),
        password: None,
    };
    let creds = match create_user(node, admin(), &key).await {
        Ok(c) => c,
        Err(e) if format!("{e:#}").contains("user.already_exists") => {
            let password = web::credentials::random_password();
            let hash = web::credentials::hash_password(&password).map_err(|e| anyhow!(e.message))?;
            let cmd = Command::SetPassword { user_id: UserId::new("admin"), password_hash: hash };
            applied(
                submit_system(node, CommandId::new(format!("{key}:password")), cmd).await?,
                "resetting the password",
            )?;
            let t = web::credentials::new_token();
            let cmd = Command::CreateToken {
                token_id: t.id.clone(),
                user_id: UserId::new("admin"),
                secret_sha256: t.secret_sha256,
                label: "beredd demo".into(),
                expires_at: Some(OffsetDateTime::now_utc() + web::credentials::TOKEN_DEFAULT_LIFETIME),
            };
            applied(submit_system(node, CommandId::new(format!("{key}:token")), cmd).await?, "creating the token")?;
            Credentials { admin_user: "admin".into(), admin_password: password, api_token: t.token }
        }
        Err(e) => return Err(e),
    };
    // The admin's password and token: readable by this user only, from the start.
    let _ = std::fs::remove_file(file);
    let mut f = super::sealed::private_file(file)?;
    std::io::Write::write_all(&mut f, &serde_json::to_vec_pretty(&creds)?)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(creds)
}
