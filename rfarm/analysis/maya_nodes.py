"""What Maya's nodes mean to a render farm: which attributes hold input files,
where render settings live, and the units and formats they are written in.

Short attribute names are what Maya writes; long names appear in hand-made
files, reference edits and full-name saves, so both are listed.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

# Which node attributes hold input files, per renderer: renderer -> node type ->
# attribute (short and long names) -> dependency kind. "maya" is Maya's own nodes
# (and its bundled plug-ins), which Maya Software and Maya Hardware 2.0 render and
# every other renderer reads too; "plugins" is third-party geometry and hair
# plug-ins any renderer may load. 3Delight and Elara render Maya's own file nodes
# too. 3Delight for Maya's own texture node is dlTexture (so named in 3Delight's
# issue tracker); its attribute name ``textureFile`` could not be checked against
# public documentation here. No Elara for Maya node type holding an input path
# could be checked, so its row is empty. A path on a node type or attribute not
# listed is reported as a tip, not sent.
INPUT_ATTRS: Mapping[str, Mapping[str, Mapping[str, str]]] = {
    "maya": {
        "file": {"ftn": "texture", "fileTextureName": "texture"},
        "psdFileTex": {"ftn": "texture", "fileTextureName": "texture"},
        "movie": {"ftn": "movie", "fileTextureName": "movie"},
        "imagePlane": {"imn": "image_plane", "imageName": "image_plane"},
        "audio": {"f": "audio", "filename": "audio"},
        "cacheFile": {"cp": "cache", "cachePath": "cache"},
        "diskCache": {"cn": "cache", "cacheName": "cache"},
        "gpuCache": {"cfn": "gpu_cache", "cacheFileName": "gpu_cache"},
        "AlembicNode": {"fn": "alembic", "abc_File": "alembic", "fns": "alembic", "abc_layerFiles": "alembic"},
        "brush": {"imn": "texture", "imageName": "texture", "lim": "texture", "fim": "texture"},
        "textureToGeom": {"if": "texture", "imageFile": "texture"},
        "hwReflectionMap": {
            "smtn": "texture", "sphereMapTextureName": "texture", "cftn": "texture", "cubeFrontTextureName": "texture",
            "cbkn": "texture", "cubeBackTextureName": "texture", "ctpn": "texture", "cubeTopTextureName": "texture",
            "cbmn": "texture", "cubeBottomTextureName": "texture", "cltn": "texture", "cubeLeftTextureName": "texture",
            "crtn": "texture", "cubeRightTextureName": "texture",
        },
        "assemblyDefinition": {"rda": "assembly", "representationData": "assembly"},
        "assemblyReference": {"def": "assembly", "definition": "assembly"},
        "xgmPalette": {
            "xfn": "xgen", "xgFileName": "xgen", "xbf": "xgen", "xgBaseFile": "xgen", "xgDeltaFiles": "xgen",
        },
        "xgmSplineCache": {"fileName": "xgen"},
        "xgmCurveToSpline": {"fileName": "xgen"},
        "mayaUsdProxyShape": {"fp": "usd", "filePath": "usd"},
    },
    "arnold": {
        "aiStandIn": {"dso": "standin"},
        "aiImage": {"filename": "texture"},
        "aiVolume": {"filename": "volume", "dso": "volume"},
        "aiPhotometricLight": {"aiFilename": "ies", "ai_filename": "ies"},
        "aiMaterialx": {"filename": "materialx"},
    },
    "renderman": {
        "PxrTexture": {"filename": "texture"},
        "PxrPtexture": {"filename": "texture"},
        "PxrNormalMap": {"filename": "texture"},
        "PxrBump": {"filename": "texture"},
        "PxrMultiTexture": {f"filename{i}": "texture" for i in range(10)},
        "PxrLayeredTexture": {"filename": "texture", "maskTexture": "texture"},
        "PxrProjectionLayer": {"filename": "texture"},
        "PxrDomeLight": {"lightColorMap": "texture"},
        "PxrRectLight": {"lightColorMap": "texture", "iesProfile": "ies"},
        "PxrDiskLight": {"iesProfile": "ies"},
        "PxrSphereLight": {"iesProfile": "ies"},
        "PxrCookieLightFilter": {"map": "texture"},
        "PxrGoboLightFilter": {"map": "texture"},
        "PxrVisualizer": {"matCap": "texture"},
        "RenderManArchive": {"filename": "archive"},
        "rmanImageFile": {"File": "texture"},
        "rmanTexture3d": {"File": "texture"},
        "PxrStdEnvMapLight": {"rman__EnvMap": "texture"},
    },
    "vray": {
        "VRayMesh": {"fn": "proxy", "fileName": "proxy"},
        "VRayProxy": {"fileName": "proxy"},
        "VRayVolumeGrid": {"if": "volume", "inFile": "volume", "inPath": "volume"},
        "VRayScene": {"FilePath": "vrscene", "fPath": "vrscene"},
        "VRayLightIESShape": {"iesFile": "ies"},
        "VRayPtex": {"ptexFile": "texture"},
    },
    "redshift": {
        "RedshiftProxyMesh": {"fn": "proxy", "fileName": "proxy"},
        "RedshiftVolumeShape": {"fn": "volume", "fileName": "volume"},
        "RedshiftNormalMap": {"tex0": "texture"},
        "RedshiftSprite": {"tex0": "texture"},
        "RedshiftCameraMap": {"tex0": "texture"},
        "RedshiftLightGobo": {"tex0": "texture"},
        "RedshiftDomeLight": {"tex0": "texture", "tex1": "texture"},
        "RedshiftEnvironment": {f"tex{i}": "texture" for i in range(5)},
        "RedshiftIESLight": {"profile": "ies"},
        "RedshiftLensDistortion": {"LDimage": "texture"},
        "RedshiftBokeh": {"dofBokehImage": "texture"},
        "RedshiftPostEffects": {"lutFilename": "texture"},
    },
    "mentalray": {
        "mentalrayTexture": {"ftn": "texture", "fileTextureName": "texture"},
        "mentalrayIblShape": {"tx": "texture", "texture": "texture"},
    },
    "3delight": {
        "dlTexture": {"textureFile": "texture"},
    },
    "elara": {},
    "plugins": {
        "pgYetiMaya": {"cacheFileName": "yeti", "groomFileName": "yeti"},
        "houdiniAsset": {"otlFilePath": "hda"},
    },
}

# node type -> attribute -> dependency kind, over every renderer.
DEPENDENCY_ATTRS: Mapping[str, Mapping[str, str]] = {
    node_type: attrs for table in INPUT_ATTRS.values() for node_type, attrs in table.items()
}

# Long attribute names in reference edits that set an input path.
EDIT_ATTRS: Mapping[str, tuple[str, str]] = {
    "fileTextureName": ("file", "texture"),
    "cacheFileName": ("gpuCache", "gpu_cache"),
    "abc_File": ("AlembicNode", "alembic"),
    "dso": ("aiStandIn", "standin"),
    "fileName": ("RedshiftProxyMesh", "proxy"),
}

# Shared nodes Maya never creates in a file, only selects (``select -ne :name``).
DEFAULT_NODES: Mapping[str, str] = {
    "defaultRenderGlobals": "renderGlobals",
    "defaultResolution": "resolution",
    "time1": "time",
    "defaultColorMgtGlobals": "colorManagementGlobals",
    "defaultArnoldDriver": "aiAOVDriver",
    "defaultArnoldRenderOptions": "aiOptions",
    "redshiftOptions": "RedshiftOptions",
    "hardwareRenderingGlobals": "hardwareRenderingGlobals",
    "vraySettings": "VRaySettingsNode",
    "defaultRenderLayer": "renderLayer",
}

# Render settings: node name -> attribute alias -> short name.
SETTINGS: Mapping[str, Mapping[str, str]] = {
    "defaultRenderGlobals": {
        "ren": "ren", "currentRenderer": "ren", "an": "an", "animation": "an",
        "fs": "fs", "startFrame": "fs", "ef": "ef", "endFrame": "ef",
        "bfs": "bfs", "byFrameStep": "bfs", "ifp": "ifp", "imageFilePrefix": "ifp",
        "outf": "outf", "imageFormat": "outf", "imfkey": "imfkey", "imfPluginKey": "imfkey",
    },
    "defaultResolution": {"w": "w", "width": "w", "h": "h", "height": "h"},
    "time1": {"o": "o", "outTime": "o"},
    "defaultArnoldDriver": {"ai_translator": "ai_translator", "aiTranslator": "ai_translator"},
    "vraySettings": {
        "imgfs": "imgfs", "imageFormatStr": "imgfs", "fnprx": "fnprx", "fileNamePrefix": "fnprx",
    },
}

# (node, short attribute) pairs that are time values (ticks in .mb files).
TIME_ATTRS = frozenset({("defaultRenderGlobals", "fs"), ("defaultRenderGlobals", "ef"), ("time1", "o")})

TIME_UNITS: Mapping[str, float] = {
    "game": 15, "film": 24, "pal": 25, "ntsc": 30, "show": 48, "palf": 50, "ntscf": 60,
    "millisec": 1000, "sec": 1, "min": 1 / 60, "hour": 1 / 3600,
}

IMAGE_FORMATS: Mapping[int, str] = {
    0: "gif", 1: "si", 2: "rla", 3: "tif", 4: "tif16", 5: "sgi", 6: "als", 7: "iff", 8: "jpg",
    9: "eps", 10: "iff16", 11: "cin", 12: "yuv", 13: "sgi16", 19: "tga", 20: "bmp", 22: "mov",
    23: "avi", 31: "psd", 32: "png", 35: "dds", 36: "psd_layered", 60: "swf", 61: "ai", 62: "svg",
}

# Extensions that make a string on an unlisted node type an input file.
INPUT_EXTENSIONS = re.compile(
    r"\.(exr|tx|tif|tiff|png|jpe?g|tga|hdr|psd|iff|ass|ass\.gz|usd|usda|usdc|usdz|abc|vdb|rs|"
    r"vrmesh|vrscene|fur|xgen|ptx|mc|mcx|wav|aiff?|mp3|mov|mp4|avi|ies|ocio|mtlx|osl|oso|"
    r"ma|mb|fbx|obj|bgeo|bgeo\.sc|hda|otl|rib|ptc|bkm)$",
    re.IGNORECASE,
)
PATH_SHAPED = re.compile(r"^([A-Za-z]:[\\/]|[\\/]|\$|\.{1,2}[\\/])|[\\/]")
# Node types whose strings are never inputs: code, names, and the render settings,
# whose paths are outputs, the scene's own name, search paths or configuration
# (V-Ray's mSceneName, imageFilePrefix, OCIO configs, Arnold's search paths).
NOT_INPUT_TYPES = frozenset({
    "script", "camera", "reference", "expression", "renderGlobals", "hwRenderGlobals", "resolution",
    "colorManagementGlobals", "hardwareRenderingGlobals", "renderQuality", "aiOptions", "aiAOVDriver",
    "aiAOVFilter", "VRaySettingsNode", "RedshiftOptions", "rmanGlobals", "mentalrayGlobals",
    "mentalrayOptions", "eiOptions", "delightRenderPass", "renderLayer", "renderSetupLayer", "collection",
    "renderSettingsCollection", "simpleSelector", "absOverride", "absUniqueOverride", "relOverride", "relUniqueOverride",
})
SEQUENCE_NODE_TYPES = frozenset({"file", "imagePlane", "psdFileTex", "movie"})
# Attributes of input-bearing nodes that hold no input: UI assets, outputs, search
# paths and colour-management configs.
NOT_INPUT_ATTRS = frozenset({
    "icn", "iconName", "templatePath", "outputCacheFileName", "imageSearchPath", "cmcp",
    "colorManagementConfigFilePath", "cs", "colorSpace", "cmp", "cacheGeomPath",
})
SCRIPT_NODES_MAYA_WRITES = frozenset({"sceneConfigurationScriptNode", "uiConfigurationScriptNode"})


def time_unit_fps(unit: str) -> float | None:
    """Frames per second of a ``currentUnit -t`` value (``film``, ``23.976fps``…)."""
    if unit in TIME_UNITS:
        return float(TIME_UNITS[unit])
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(?:fps|df)", unit)
    return float(match.group(1)) if match else None
