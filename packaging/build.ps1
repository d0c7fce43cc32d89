# Build Tidemark's offline bundle and installer on Windows (untested here: no Windows machine;
# the CI workflow .github/workflows/build.yml runs it).
#
#   dist\tidemark\                        the one-folder bundle: tidemark.exe, tidemark-gui.exe
#   dist\tidemark-VERSION-windows-AMD64.zip
#   dist\Tidemark-VERSION-setup.exe       Inno Setup installer (when ISCC.exe is found)
#
# usage: powershell -ExecutionPolicy Bypass -File packaging\build.ps1 [-Venv DIR] [-Python EXE] [-BundleOnly]
param(
    [string]$Venv = "",
    [string]$Python = "python",
    [switch]$BundleOnly,
    [switch]$Help
)
$ErrorActionPreference = "Stop"

if ($Help) {
    Get-Content $PSCommandPath | Select-Object -First 9
    exit 0
}

$Src = (Resolve-Path (Join-Path $PSScriptRoot "..")).Path
if (-not $Venv) { $Venv = Join-Path $Src "build\packaging-venv" }
$Dist = Join-Path $Src "dist"
$Work = Join-Path $Src "build\pyinstaller"
$Py = Join-Path $Venv "Scripts\python.exe"

Write-Host "==> build venv $Venv"
if (-not (Test-Path $Py)) { & $Python -m venv $Venv; if ($LASTEXITCODE) { exit 1 } }
& $Py -m pip install -q --disable-pip-version-check "$Src[packaging]"
if ($LASTEXITCODE) { throw "pip install failed" }
$Version = (& $Py -c "import importlib.metadata as m; print(m.version('tidemark'))").Trim()

Write-Host "==> pyinstaller (tidemark $Version)"
if (Test-Path "$Dist\tidemark") { Remove-Item -Recurse -Force "$Dist\tidemark" }
Push-Location $Src
try {
    & (Join-Path $Venv "Scripts\pyinstaller.exe") --noconfirm --log-level WARN --distpath $Dist --workpath $Work packaging\tidemark.spec
    if ($LASTEXITCODE) { throw "pyinstaller failed" }
} finally { Pop-Location }
foreach ($exe in "tidemark.exe", "tidemark-gui.exe") {
    if (-not (Test-Path "$Dist\tidemark\$exe")) { throw "missing $exe in the bundle" }
}
if ($BundleOnly) { exit 0 }

Write-Host "==> zip"
$Zip = Join-Path $Dist "tidemark-$Version-windows-AMD64.zip"
if (Test-Path $Zip) { Remove-Item $Zip }
Compress-Archive -Path "$Dist\tidemark" -DestinationPath $Zip

Write-Host "==> Inno Setup installer"
$Iscc = Get-Command iscc.exe -ErrorAction SilentlyContinue
if (-not $Iscc) {
    foreach ($p in "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe", "$env:ProgramFiles\Inno Setup 6\ISCC.exe") {
        if (Test-Path $p) { $Iscc = $p; break }
    }
} else { $Iscc = $Iscc.Source }
if ($Iscc) {
    & $Iscc "/DAppVersion=$Version" "/DSourceDir=$Dist\tidemark" "/O$Dist" (Join-Path $Src "packaging\installer\tidemark.iss")
    if ($LASTEXITCODE) { throw "ISCC failed" }
} else {
    Write-Warning "Inno Setup (ISCC.exe) not found: no setup.exe (choco install innosetup)"
}
Get-ChildItem $Dist
