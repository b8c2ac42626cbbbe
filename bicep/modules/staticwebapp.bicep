// The storefront and the admin console (web/) as a Static Web App, Free tier:
// plain files, no functions of its own. Its content is deployed by
// scripts/deploy.sh (scripts/web-dist.sh points the pages at API Management
// and writes staticwebapp.config.json: the page routes, the fallback, and the
// security headers with API Management's origin in connect-src), with the
// deployment token the CLI reads from the site, never stored in the repo.
@description('The Static Web App name.')
param name string

@description('A region that offers Static Web Apps (they are global; this holds the metadata).')
@allowed([
  'centralus'
  'eastasia'
  'eastus2'
  'westeurope'
  'westus2'
])
param location string

resource site 'Microsoft.Web/staticSites@2023-12-01' = {
  name: name
  location: location
  sku: {
    name: 'Free'
    tier: 'Free'
  }
  properties: {
    // deployed from scripts/deploy.sh with the deployment token, not linked to a repository
    provider: 'None'
    allowConfigFileUpdates: true
    stagingEnvironmentPolicy: 'Disabled'
  }
}

@description('The site\'s name (scripts/deploy.sh reads its deployment token with it).')
output name string = site.name

@description('https://<generated>.azurestaticapps.net')
output url string = 'https://${site.properties.defaultHostname}'
