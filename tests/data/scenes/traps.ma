//Maya ASCII 2018ff09 scene
//Name: traps.ma
//Last modified: Mon, Jan 01, 2024 10:00:00 AM
//Codeset: 1252
requires "fbxmaya" "2020.3.9";
file -rdi 1 -ns "char" -rfn "charRN" -op "VERS|2018ff09|UVER|undef|MADE|undef|CHNG|Mon, Jan 01, 2024|ICON|undef|INFO|undef|OBJN|12|INCL|G:/proj/assets/a/rig_tex.png(G:/proj/assets/a/model.mb(K:/lib/hair.xgen(|LUNI|cm|TUNI|film|AUNI|deg|"
		 -typ "mayaBinary" "G:/proj/assets/char/char_rig.mb";
file -rdi 2 -ns "model" -rfn "char:modelRN" -typ "mayaAscii" "G:/proj/assets/char/char_model.ma";
file -rdi 3 -ns "lineColor" -rfn "char:model:lineColorRN" -typ "mayaAscii" "G:/proj/assets/char/line.ma";
file -rdi 1 -ns "char1" -rfn "charRN1" -typ "mayaBinary" "G:/proj/assets/char/char_rig.mb{1}";
file -rdi 1 -ns "crowd" -rfn "crowdRN" -typ
		 "Alembic" "G:/proj/cache/crowd.abc";
file -rdi 1 -ns "old" -dr 1 -rfn "oldRN" "X:/legacy/set.ma";
file -r -ns "char" -dr 1 -rfn "charRN" -op "VERS|2018ff09|UVER|undef|MADE|undef|CHNG|Mon, Jan 01, 2024|ICON|undef|INFO|undef|OBJN|12|INCL|G:/proj/assets/a/rig_tex.png(G:/proj/assets/a/model.mb(K:/lib/hair.xgen(|LUNI|cm|TUNI|film|AUNI|deg|"
		 -typ "mayaBinary" "G:/proj/assets/char/char_rig.mb";
file -r -ns "char1" -dr 1 -rfn "charRN1" -typ "mayaBinary"
		 "G:/proj/assets/char/char_rig.mb{1}";
file -r -ns "crowd" -dr 1 -rfn "crowdRN" -typ "Alembic" "G:/proj/cache/crowd.abc";
file -r -ns "old" -dr 1 -rfn "oldRN" "X:/legacy/set.ma";
requires maya "2018ff09";
requires -nodeType "aiOptions" -nodeType "aiAOVDriver" -nodeType "aiImage"
		 -nodeType "aiStandIn" "mtoa" "3.1.2";
requires "stereoCamera" "10.0";
requires "stereoCamera" "10.0";
requires -nodeType "RedshiftOptions" -nodeType "RedshiftDomeLight" -nodeType "RedshiftProxyMesh" "redshift4maya" "3.0.46 ";
requires -nodeType "VRaySettingsNode" "vrayformaya" "5";
currentUnit -l centimeter -a degree -t 80fps;
fileInfo "application" "maya";
fileInfo "product" "Maya 2018";
createNode transform -s -n "persp";
	setAttr ".v" no;
createNode camera -s -n "perspShape" -p "persp";
	setAttr -k off ".v" no;
	setAttr ".rnd" no;
	setAttr ".imn" -type "string" "persp";
createNode transform -n "shotCam";
createNode camera -n "shotCamShape" -p "shotCam";
	setAttr -k off ".v";
	setAttr ".imn" -type "string" "C:/not/a/texture/shotCam.png";
	setAttr ".den" -type "string" "shotCam_depth";
createNode imagePlane -n "imagePlaneShape1" -p "imagePlane1";
	setAttr -k off ".v";
	setAttr ".imn" -type "string" "D:/WS Micro Film/plates/plate.####.jpg";
	setAttr ".w" 10;
	setAttr ".h" 5.6500000000000004;
createNode file -n "cup1:file1";
	setAttr ".ftn" -type "string" "C:/Users/me/_3D Projects/Maya//sourceimages/cup.png";
	setAttr ".cs" -type "string" "sRGB";
createNode file -n "file2";
	setAttr ".cs" -type "string" "sRGB";
createNode file -n "file3";
	setAttr -k on ".ftn" -type "string" "C:/Users/me/_3D Projects/Maya//sourceimages/cup.png";
createNode file -n "winFile";
	setAttr ".ftn" -type "string" "G:\\Artfx\\textures\\wall diffuse.tif";
createNode file -n "envFile";
	setAttr ".ftn" -type "string" "${SLiBLib}/wood/oak_<UDIM>.exr";
createNode AlembicNode -n "crate_AlembicNode";
	setAttr ".fn" -type "string" "/data/cache/crate.abc";
	setAttr ".fns" -type "stringArray" 2 "/data/cache/crate.abc" "/data/cache/crate_layer.abc"  ;
createNode RedshiftProxyMesh -n "rsProxy1";
	setAttr ".fn" -type "string" "H:/proxies/tree.####.rs";
createNode RedshiftDomeLight -n "rsDomeLightShape1" -p "rsDomeLight1";
	setAttr ".tex0" -type "string" "H:/hdri/sky.hdr";
createNode aiSetParameter -n "setParam1";
	setAttr ".selection" -type "string" "/Cap/*";
createNode aiMaterialx -n "mtlx1";
	setAttr ".filename" -type "string" "looks/bottle.mtlx";
	setAttr ".search_path" -type "string" ".";
createNode assemblyDefinition -n "setAD";
	setAttr ".icn" -type "string" "out_assemblyDefinition.png";
	setAttr ".cdat" -type "string" "2020/08/04 05:34:20";
	setAttr ".rep[0].rla" -type "string" "set.ma";
	setAttr ".rep[0].rda" -type "string" "Annotation: set";
createNode unknownPluginNode -n "custom1";
	setAttr ".dataFile" -type "string" "K:/plugin/data/lut.ocio";
	setAttr ".label" -type "string" "a/b";
createNode reference -n "charRN";
	setAttr ".fn[0]" -type "string" "C:/Users/me/old/char_rig.mb{1}";
	setAttr ".ed" -type "dataReferenceEdits" 
		"charRN"
		"charRN" 2
		2 "char:file1" "fileTextureName" " -type \"string\" \"G:/proj/textures/override.png\""
		
		2 "char:file1" "colorSpace" " -type \"string\" \"sRGB\""
		"char:modelRN" 1
		3 "char:model:layerManager.displayLayerId[1]" "char:model:geo.identification" 
		"";
	setAttr ".ptag" -type "string" "";
lockNode -l 1 ;
createNode script -n "sceneConfigurationScriptNode";
	setAttr ".b" -type "string" "playbackOptions -min 1 -max 1.041667 -ast 1 -aet 200 ";
	setAttr ".st" 6;
createNode script -n "loadStuff";
	setAttr ".b" -type "string" (
		"file -r -ns \"evil\" \"C:/evil/payload.ma\";\n"
		+ "string $p = \"D:/tex/x.png\";\tprint($p);\n"
		+ "// a \"quoted\" comment; with semicolons;");
	setAttr ".st" 1;
createNode VRaySettingsNode -s -n "vraySettings";
	setAttr ".wi" 960;
	setAttr ".he" 540;
	setAttr ".mSceneName" -type "string" "G:/proj/scenes/traps.ma";
select -ne :time1;
	setAttr -av -k on ".cch";
	setAttr -k on ".o" 1001;
	setAttr ".unw" 1001;
select -ne :defaultRenderGlobals;
	addAttr -ci true -h true -sn "dss" -ln "defaultSurfaceShader" -dt "string";
	setAttr -k on ".cch";
	setAttr -cb on ".ren" -type "string" "redshift";
	setAttr -av -k on ".outf" 51;
	setAttr -cb on ".imfkey" -type "string" "exr";
	setAttr ".an" yes;
	setAttr -k on ".fs";
	setAttr -av -k on ".fs" 1001;
	setAttr -av ".ef" 1100.5;
	setAttr ".bfs" 2;
	setAttr ".ep" 4;
	setAttr ".pff" yes;
	setAttr -cb on ".ifp" -type "string" "<Scene>/<RenderLayer>/<RenderLayer>";
	setAttr ".dss" -type "string" "lambert1";
select -ne :defaultResolution;
	setAttr -k on ".cch";
	setAttr -av ".w" 1920;
	setAttr -av ".h" 1080;
	setAttr ".pa" 1;
select -ne :defaultColorMgtGlobals;
	setAttr ".cfe" yes;
	setAttr ".cfp" -type "string" "<MAYA_RESOURCES>/OCIO-configs/Maya-legacy/config.ocio";
connectAttr "cup1:file1.oc" "lambert2.c";
connectAttr "crate_AlembicNode.tx" "crate.tx";
connectAttr "a.mb" "b.mb";
// End of traps.ma
