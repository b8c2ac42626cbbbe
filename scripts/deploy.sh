#!/usr/bin/env bash
# Deploys the infrastructure (bicep/main.bicep) to a resource group and
# publishes the package. Needs the Azure CLI, logged in.
# Usage: scripts/deploy.sh <resource-group> [location] [admin-emails]
set -euo pipefail
cd "$(dirname "$0")/.."

group=${1:?usage: scripts/deploy.sh <resource-group> [location] [admin-emails]}
location=${2:-westeurope}
admins=${3:-}

az group create --name "$group" --location "$location" --output none
app=$(az deployment group create --resource-group "$group" --template-file bicep/main.bicep \
  --parameters adminEmails="$admins" --query properties.outputs.functionAppName.value --output tsv)
zip=$(scripts/package.sh)
az functionapp deployment source config-zip --resource-group "$group" --name "$app" --src "$zip"
echo "deployed to https://$app.azurewebsites.net"
