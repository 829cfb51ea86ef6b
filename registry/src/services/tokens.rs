//! GetAuthorizationToken: the password `docker login` uses.

use base64::Engine;
use berth_model::ecr::{
    AuthorizationData, GetAuthorizationTokenRequest, GetAuthorizationTokenResponse,
};

use crate::auth::{self, Principal};
use crate::error::EcrError;
use crate::store::{self, tokens::TokenRecord};
use crate::AppState;

pub async fn get_authorization_token(
    state: &AppState,
    principal: &Principal,
    request: GetAuthorizationTokenRequest,
) -> Result<GetAuthorizationTokenResponse, EcrError> {
    for id in request.registry_ids.iter().flatten() {
        if id != &state.config.account_id {
            return Err(EcrError::invalid_parameter(format!(
                "Invalid parameter at 'registryIds': this registry's id is '{}', not '{id}'.",
                state.config.account_id
            )));
        }
    }
    let token = auth::new_registry_token();
    let now = store::now_epoch_seconds();
    let expires_at = (now + auth::TOKEN_LIFETIME.as_secs_f64()).floor();
    let record = TokenRecord {
        access_key_id: principal.access_key_id.clone(),
        user_name: principal.user_name.clone(),
        expires_at,
    };
    let hash = auth::token_hash(&token);
    state
        .store
        .call(move |conn| store::tokens::insert(conn, &hash, &record, now).map_err(EcrError::from))
        .await?;
    Ok(GetAuthorizationTokenResponse {
        authorization_data: vec![AuthorizationData {
            authorization_token: base64::engine::general_purpose::STANDARD
                .encode(format!("AWS:{token}")),
            expires_at,
            proxy_endpoint: state.config.public_url.clone(),
        }],
    })
}
