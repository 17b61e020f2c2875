//! The manual path for the Global setup policy: a PowerShell script for the MicrosoftTeams module that adds the
//! app to the installed and pinned apps, keeping every existing entry and pin order, and the admin-center links.
//!
//! `Set-CsTeamsAppSetupPolicy` replaces whole lists, and passing the objects read by `Get-CsTeamsAppSetupPolicy`
//! back (or `[PSCustomObject]`s) fails with a cast error; so the script builds new `AppPreset` and `PinnedApp`
//! objects of the module's own types (`docs/microsoft-apis.md` B5).

/// The Teams admin center page of app setup policies.
pub const SETUP_POLICIES_URL: &str = "https://admin.teams.microsoft.com/policies/app-setup";
/// The Teams admin center page of one app (its availability and org-wide status).
pub fn app_page_url(app_id: &str) -> String {
    format!("https://admin.teams.microsoft.com/policies/manage-apps/{app_id}")
}
/// The Teams admin center page listing apps, with "Org-wide app settings".
pub const MANAGE_APPS_URL: &str = "https://admin.teams.microsoft.com/policies/manage-apps";

/// The scripts' first lines: stop at the first error, and say how to install the MicrosoftTeams module when it is
/// missing (a script started with "Run in PowerShell" would otherwise fail on its first cmdlet with a vaguer error).
const PREAMBLE: &str = "$ErrorActionPreference = 'Stop'
if (-not (Get-Module -ListAvailable -Name MicrosoftTeams)) {
    Write-Host 'The MicrosoftTeams module is not installed. Install it, then run this script again:' -ForegroundColor Yellow
    Write-Host '    Install-Module MicrosoftTeams -Scope CurrentUser'
    return
}
Import-Module MicrosoftTeams";

/// Only GUID-like ids go into the script (it is run with an admin's rights).
fn safe_id(app_id: &str) -> Option<&str> {
    (!app_id.is_empty() && app_id.len() <= 64 && app_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then_some(app_id)
}

/// The script that adds `app_id` (named `app_name`) to the Global policy; `None` for an id that is not plain.
pub fn global_policy_script(app_id: &str, app_name: &str) -> Option<String> {
    let id = safe_id(app_id)?;
    let name: String = app_name.chars().filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '.').take(60).collect();
    Some(format!(
        r#"# Adds {name} to the Teams Global (Org-wide default) app setup policy: installed, and pinned after the
# existing pins. Nothing else in the policy changes. Run it as a Teams Administrator or Global Administrator.
# Needs the MicrosoftTeams module:  Install-Module MicrosoftTeams -Scope CurrentUser
{PREAMBLE}
Connect-MicrosoftTeams

$appId  = '{id}'
$policy = Get-CsTeamsAppSetupPolicy -Identity Global

# Build new objects of the module's own types: passing the ones read above back fails with a cast error.
$installed = @()
foreach ($app in $policy.AppPresetList) {{
    $installed += New-Object -TypeName Microsoft.Teams.Policy.Administration.Cmdlets.Core.AppPreset -ArgumentList $app.Id
}}
if (-not ($policy.AppPresetList | Where-Object {{ $_.Id -eq $appId }})) {{
    $installed += New-Object -TypeName Microsoft.Teams.Policy.Administration.Cmdlets.Core.AppPreset -ArgumentList $appId
}}

$pinned = @()
$order = 1
foreach ($pin in ($policy.PinnedAppBarApps | Sort-Object Order)) {{
    $pinned += New-Object -TypeName Microsoft.Teams.Policy.Administration.Cmdlets.Core.PinnedApp -ArgumentList $pin.Id, $order
    $order++
}}
if (-not ($policy.PinnedAppBarApps | Where-Object {{ $_.Id -eq $appId }})) {{
    $pinned += New-Object -TypeName Microsoft.Teams.Policy.Administration.Cmdlets.Core.PinnedApp -ArgumentList $appId, $order
}}

Set-CsTeamsAppSetupPolicy -Identity Global -AppPresetList $installed -PinnedAppBarApps $pinned

# Check: the app is now installed and pinned in Global.
Get-CsTeamsAppSetupPolicy -Identity Global | Select-Object -ExpandProperty PinnedAppBarApps
# Users with another policy assigned do not get Global; see who has which:
#   Get-CsOnlineUser -Identity someone@yourdomain | Select-Object TeamsAppSetupPolicy
"#
    ))
}

/// The script for an app-centric tenant: make the app (catalog id `app_id`, not the manifest id) available to
/// everyone and not blocked, install it for everyone, and print what the tenant now says. These cmdlets need an
/// admin signed in interactively (they are excluded from app-only authentication); availability and installs are
/// separate parameter sets, so one call each. `None` for an id that is not plain.
pub fn app_centric_script(app_id: &str, app_name: &str) -> Option<String> {
    let id = safe_id(app_id)?;
    let name: String = app_name.chars().filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '.').take(60).collect();
    Some(format!(
        r#"# Makes {name} available to everyone in Teams and installs it for everyone (Teams' app-centric management:
# both are settings of the app itself now, not of setup policies). Run it as a Teams Administrator or Global
# Administrator. Needs the MicrosoftTeams module:  Install-Module MicrosoftTeams -Scope CurrentUser
{PREAMBLE}
Connect-MicrosoftTeams

# The app's id in your tenant's Teams app catalog (not its manifest id).
$appId = '{id}'

# Available to everyone, and not blocked.
Update-M365TeamsApp -Id $appId -IsBlocked $false -AppAssignmentType Everyone

# Installed for everyone.
Update-M365TeamsApp -Id $appId -AppInstallType Everyone -InstallForOperationType Add

# What the tenant says now: expect IsBlocked False, AvailableTo Everyone, InstalledFor Everyone.
$app = Get-M365TeamsApp -Id $appId
$app | Select-Object IsBlocked, AvailableTo, InstalledFor | Format-List
$app.AvailableTo | Format-List
$app.InstalledFor | Format-List
"#
    ))
}

/// How to check which setup policy one user gets.
pub const CHECK_ONE_USER: &str = "Get-CsOnlineUser -Identity someone@yourdomain | Select-Object TeamsAppSetupPolicy";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_centric_script_sets_availability_and_installs_by_catalog_id_and_prints_the_result() {
        let s = app_centric_script("5b1c2f0e-7a3d-4c8e-9f61-2d4b8a0c6e13", "MSPbots").unwrap();
        assert!(s.contains("Connect-MicrosoftTeams"));
        assert!(
            s.starts_with("# ") && s.contains("\n$ErrorActionPreference = 'Stop'\nif (-not (Get-Module -ListAvailable")
        );
        assert!(s.find("Import-Module MicrosoftTeams") < s.find("Connect-MicrosoftTeams"));
        assert!(s.contains("$appId = '5b1c2f0e-7a3d-4c8e-9f61-2d4b8a0c6e13'"));
        assert!(s.contains("Update-M365TeamsApp -Id $appId -IsBlocked $false -AppAssignmentType Everyone"));
        assert!(s.contains("Update-M365TeamsApp -Id $appId -AppInstallType Everyone -InstallForOperationType Add"));
        assert!(s.contains("Select-Object IsBlocked, AvailableTo, InstalledFor"));
        assert_eq!(app_centric_script("x'; Remove-Item C:\\ -Recurse; '", "MSPbots"), None);
    }

    #[test]
    fn the_script_keeps_the_lists_uses_typed_objects_and_refuses_odd_ids() {
        let s = global_policy_script("5b1c2f0e-7a3d-4c8e-9f61-2d4b8a0c6e13", "MSPbots").unwrap();
        assert!(s.contains("$appId  = '5b1c2f0e-7a3d-4c8e-9f61-2d4b8a0c6e13'"));
        assert!(s.contains("foreach ($app in $policy.AppPresetList)"), "existing installed apps are kept");
        assert!(s.contains("Sort-Object Order"), "pin order is kept");
        assert!(s.contains("Cmdlets.Core.PinnedApp") && !s.contains("PSCustomObject"));
        assert!(s.contains(
            "Set-CsTeamsAppSetupPolicy -Identity Global -AppPresetList $installed -PinnedAppBarApps $pinned"
        ));
        assert_eq!(global_policy_script("x'; Remove-Item C:\\ -Recurse; '", "MSPbots"), None);
        let odd_name = global_policy_script("abc", "Evil`$(calc)\nName").unwrap();
        assert!(!odd_name.contains('`') && !odd_name.contains("$(calc)"));
    }
}
