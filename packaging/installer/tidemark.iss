; Inno Setup script: Tidemark's Windows installer (untested here; built by packaging\build.ps1 in CI).
;   ISCC.exe /DAppVersion=0.1.0 /DSourceDir=..\..\dist\tidemark /O..\..\dist tidemark.iss
; Installs the PyInstaller bundle per user or for all users, a Start-menu entry for the app and,
; optionally, the bundle folder on PATH so `tidemark` works in a terminal. No network needed.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\tidemark"
#endif

[Setup]
AppId={{6E1B0C7A-3C55-4C1E-9A51-7D0B8F1E2A11}
AppName=Tidemark
AppVersion={#AppVersion}
AppPublisher=Tidemark developers
DefaultDirName={autopf}\Tidemark
DefaultGroupName=Tidemark
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputBaseFilename=Tidemark-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\tidemark-gui.exe
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add the tidemark command to PATH"; GroupDescription: "Command line:"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Tidemark"; Filename: "{app}\tidemark-gui.exe"
Name: "{group}\Uninstall Tidemark"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Tidemark"; Filename: "{app}\tidemark-gui.exe"; Tasks: desktopicon

[Registry]
; Per-user install: the user's PATH; all users: the system PATH.
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
  Tasks: addtopath; Check: (not IsAdminInstallMode) and NeedsAddPath(ExpandConstant('{app}'))
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: expandsz; \
  ValueName: "Path"; ValueData: "{olddata};{app}"; \
  Tasks: addtopath; Check: IsAdminInstallMode and NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\tidemark-gui.exe"; Description: "{cm:LaunchProgram,Tidemark}"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Paths: string;
  RootKey: Integer;
  SubKey: string;
begin
  if IsAdminInstallMode then begin
    RootKey := HKEY_LOCAL_MACHINE;
    SubKey := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment';
  end else begin
    RootKey := HKEY_CURRENT_USER;
    SubKey := 'Environment';
  end;
  if not RegQueryStringValue(RootKey, SubKey, 'Path', Paths) then begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';') = 0;
end;
