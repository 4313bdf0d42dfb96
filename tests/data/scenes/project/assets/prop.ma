//Maya ASCII 2022 scene
//Name: prop.ma
//Codeset: UTF-8
file -rdi 1 -ns "shot" -rfn "shotRN" -typ "mayaAscii" "scenes/shot.ma";
file -r -ns "shot" -dr 1 -rfn "shotRN" -typ "mayaAscii" "scenes/shot.ma";
requires maya "2022";
currentUnit -l centimeter -a degree -t film;
createNode file -n "file1";
	setAttr ".ftn" -type "string" "prop_col.png";
createNode file -n "file2";
	setAttr ".ftn" -type "string" "prop_missing.png";
select -ne :defaultRenderGlobals;
	setAttr ".ren" -type "string" "vray";
// End of prop.ma
