#!/usr/bin/env bash
# Deploys jojomart to a resource group: checks the region, recovers a
# soft-deleted Key Vault of a recreated group, deploys bicep/main.bicep (with
# the OpenAPI document for API Management), waits until the Function Apps'
# role assignments are visible, publishes the package to every app (retrying
# while the roles propagate), publishes web/ to the Static Web App
# (scripts/web-dist.sh, then the SWA CLI from npm), and waits for /api/health
# through API Management.
# Needs the Azure CLI, logged in (`az login`, or azure/login in CI), python3, zip and Node.js (npx).
#
# Usage: scripts/deploy.sh <resource-group> [location] [admin-emails]
# Optional settings (environment; README "Deploy to Azure" lists them all):
#   JOJOMART_APP_SPLIT             single | catalog | per-service (default single)
#   JOJOMART_STOREFRONT            true (default): the storefront and console as a Static Web App | false
#   JOJOMART_STOREFRONT_LOCATION   the Static Web App's region (default westeurope)
#   JOJOMART_STOREFRONT_ORIGIN     https://shop.example (CORS at API Management; default: the Static Web App)
#   JOJOMART_APIM_SKU              Consumption | Developer | BasicV2 | StandardV2
#   JOJOMART_APIM_PUBLISHER_EMAIL  API Management's publisher email
#   JOJOMART_ENTRA_TENANT_ID, JOJOMART_ENTRA_AUDIENCE, JOJOMART_ENTRA_AUTHORITY
#   JOJOMART_KEYVAULT_PURGE_PROTECTION  true (default) | false
#   JOJOMART_MEDIA_BASE_URL        a CDN endpoint in front of the images container (else its own URL)
#   JOJOMART_DEPLOY_REDIS          true (default) | false: Azure Cache for Redis for the throttle windows
#   JOJOMART_JWT_SIGNING_KEY, JOJOMART_STRIPE_SECRET_KEY, JOJOMART_STRIPE_WEBHOOK_SECRET, JOJOMART_SMTP_PASSWORD
#                                  secrets, stored in Key Vault (never on the command line)
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: scripts/deploy.sh <resource-group> [location] [admin-emails]"
group=${1:?$usage}
location=${2:-westeurope}
admins=${3:-}
say() { printf '==> %s\n' "$*" >&2; }

say "region: $location must offer Flex Consumption"
if ! az functionapp list-flexconsumption-locations --query "[].name" --output tsv | tr -d '\r' | grep -qx "$location"; then
  echo "error: $location does not offer Flex Consumption (az functionapp list-flexconsumption-locations)" >&2
  exit 1
fi

az group create --name "$group" --location "$location" --output none

# A resource group deleted and created again leaves its vault soft-deleted
# under the same name: recover it instead of failing on the name.
create_mode=default
if [ -n "$(az keyvault list-deleted --resource-type vault \
  --query "[?contains(properties.vaultId, '/resourceGroups/$group/')].name" --output tsv 2>/dev/null)" ]; then
  say "a soft-deleted Key Vault of $group exists: recovering it"
  create_mode=recover
fi

say "package and OpenAPI document"
zip=$(scripts/package.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo run --quiet -- openapi > "$work/openapi.json"

# Parameters go through a file (mode 600, removed on exit) so no secret
# appears in the process list.
params="$work/parameters.json"
(umask 077 && python3 - "$work/openapi.json" > "$params") <<'PY'
import json, os, sys
env = os.environ.get
values = {"openApiDocument": open(sys.argv[1]).read()}
optional = {
    "appSplit": "JOJOMART_APP_SPLIT",
    "storefrontOrigin": "JOJOMART_STOREFRONT_ORIGIN",
    "storefrontLocation": "JOJOMART_STOREFRONT_LOCATION",
    "apimSku": "JOJOMART_APIM_SKU",
    "apimPublisherEmail": "JOJOMART_APIM_PUBLISHER_EMAIL",
    "entraTenantId": "JOJOMART_ENTRA_TENANT_ID",
    "entraAudience": "JOJOMART_ENTRA_AUDIENCE",
    "entraAuthority": "JOJOMART_ENTRA_AUTHORITY",
    "jwtSigningKey": "JOJOMART_JWT_SIGNING_KEY",
    "stripeSecretKey": "JOJOMART_STRIPE_SECRET_KEY",
    "stripeWebhookSecret": "JOJOMART_STRIPE_WEBHOOK_SECRET",
    "publicUrl": "JOJOMART_PUBLIC_URL",
    "smtpUrl": "JOJOMART_SMTP_URL",
    "mailFrom": "JOJOMART_MAIL_FROM",
    "smtpPassword": "JOJOMART_SMTP_PASSWORD",
    "mediaBaseUrl": "JOJOMART_MEDIA_BASE_URL",
}
for name, var in optional.items():
    if env(var):
        values[name] = env(var)
if env("JOJOMART_STOREFRONT"):
    values["storefront"] = env("JOJOMART_STOREFRONT").lower() == "true"
if env("JOJOMART_KEYVAULT_PURGE_PROTECTION"):
    values["keyVaultPurgeProtection"] = env("JOJOMART_KEYVAULT_PURGE_PROTECTION").lower() == "true"
if env("JOJOMART_DEPLOY_REDIS"):
    values["deployRedis"] = env("JOJOMART_DEPLOY_REDIS").lower() == "true"
print(json.dumps({
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {k: {"value": v} for k, v in values.items()},
}))
PY

say "deploying bicep/main.bicep to $group"
outputs="$work/outputs.json"
az deployment group create --resource-group "$group" --name jojomart \
  --template-file bicep/main.bicep --parameters "@$params" \
  --parameters adminEmails="$admins" keyVaultCreateMode="$create_mode" \
  --query properties.outputs --output json > "$outputs"
output() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]['value'])" "$outputs" "$1"; }
outputs_list() { python3 -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))[sys.argv[2]]['value']))" "$outputs" "$1"; }
storage_id=$(output storageAccountId)
api_url=$(output apiUrl)
mapfile -t apps < <(outputs_list functionAppNames)
mapfile -t principals < <(outputs_list functionAppPrincipalIds)

# Role assignments take minutes to become effective after a first deployment;
# the app's identity needs Storage Blob Data Owner to read its package. Wait
# (bounded) until every app's assignment is listed, then publish with retries.
say "waiting for the apps' role assignments on the storage account"
for principal in "${principals[@]}"; do
  for attempt in $(seq 1 30); do
    if [ -n "$(az role assignment list --assignee "$principal" --scope "$storage_id" \
      --query "[?roleDefinitionName=='Storage Blob Data Owner'].id" --output tsv 2>/dev/null)" ]; then
      break
    fi
    if [ "$attempt" = 30 ]; then
      echo "error: the role assignment of $principal did not appear in 5 minutes" >&2
      exit 1
    fi
    sleep 10
  done
done

for app in "${apps[@]}"; do
  say "publishing $zip to $app"
  for attempt in $(seq 1 8); do
    if az functionapp deployment source config-zip --resource-group "$group" --name "$app" --src "$zip" --output none; then
      break
    fi
    if [ "$attempt" = 8 ]; then
      echo "error: publishing to $app kept failing" >&2
      exit 1
    fi
    say "publishing failed (roles may still be propagating); retrying in 30 s"
    sleep 30
  done
done

storefront=$(output storefrontName)
if [ -n "$storefront" ]; then
  say "publishing web/ to the Static Web App $storefront"
  scripts/web-dist.sh "$api_url" "$work/web" >/dev/null
  # The deployment token goes through the environment, not the command line.
  SWA_CLI_DEPLOYMENT_TOKEN=$(az staticwebapp secrets list --name "$storefront" --resource-group "$group" \
    --query properties.apiKey --output tsv)
  export SWA_CLI_DEPLOYMENT_TOKEN
  npx --yes @azure/static-web-apps-cli@2.0.10 deploy "$work/web" --env production >&2
  unset SWA_CLI_DEPLOYMENT_TOKEN
  say "storefront: $(output storefrontUrl) (admin console: $(output storefrontUrl)/manage)"
fi

say "waiting for $api_url/api/health"
for attempt in $(seq 1 60); do
  status=$(curl -s -o /dev/null -w '%{http_code}' "$api_url/api/health" || true)
  if [ "$status" = 200 ]; then
    echo "deployed: $api_url (API Management in front of ${apps[*]})"
    exit 0
  fi
  sleep 10
done
echo "error: $api_url/api/health did not answer 200 within 10 minutes (last: $status); see the apps' logs in Application Insights" >&2
exit 1
