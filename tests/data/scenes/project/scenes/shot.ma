//Maya ASCII 2022 scene
//Name: shot.ma
//Codeset: UTF-8
file -rdi 1 -ns "prop" -rfn "propRN" -typ "mayaAscii" "assets/prop.ma";
file -rdi 1 -ns "prop1" -rfn "propRN1" -typ "mayaAscii" "assets/prop.ma{1}";
file -r -ns "prop" -dr 1 -rfn "propRN" -typ "mayaAscii" "assets/prop.ma";
file -r -ns "prop1" -dr 1 -rfn "propRN1" -typ "mayaAscii" "assets/prop.ma{1}";
requires maya "2022";
requires -nodeType "AlembicNode" "AbcImport" "1.0";
currentUnit -l centimeter -a degree -t ntsc;
createNode transform -s -n "persp";
createNode camera -s -n "perspShape" -p "persp";
	setAttr ".rnd" no;
createNode transform -n "shotCam";
createNode camera -n "shotCamShape" -p "shotCam";
createNode file -n "col";
	setAttr ".ftn" -type "string" "col.1001.exr";
	setAttr ".uvt" 3;
createNode imagePlane -n "plateShape" -p "plate";
	setAttr ".imn" -type "string" "Images/seq/plate.0001.jpg";
	setAttr ".ufe" yes;
createNode AlembicNode -n "anim_abc";
	setAttr ".fn" -type "string" "anim.abc";
createNode audio -n "beat";
	setAttr ".f" -type "string" "sound/beat.wav";
createNode file -n "mapped";
	setAttr ".ftn" -type "string" "P:/show/Images/col.<UDIM>.exr";
select -ne :defaultRenderGlobals;
	setAttr ".ren" -type "string" "arnold";
	setAttr ".an" yes;
	setAttr ".fs" 1001;
	setAttr ".ef" 1024;
// End of shot.ma
