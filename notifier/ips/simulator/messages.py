"""Localized job-log and progress messages, as IPS returns them in the operation locale.

IPS localizes `logMessage` in the locale of the *request* (authHeader/locale, else Accept-Language, else the
server default), not in the job's locale; the notifier depends on that, so the simulator must do the same.
Templates use named `str.format` fields and avoid grammatical number, because counts are filled in later.
"""

from __future__ import annotations

LOCALES = ("en-US", "de-DE", "ja-JP", "zh-CN", "fr-FR")
DEFAULT_LOCALE = "en-US"

# key → locale → template. Grouped by key so a reviewer sees every translation of one message together.
CATALOG: dict[str, dict[str, str]] = {
    # Job kinds, used inside the Begin/End lines.
    "job.ImageServingPublish": {
        "en-US": "Image Serving publish",
        "de-DE": "Image-Serving-Veröffentlichung",
        "ja-JP": "画像サービングへの公開",
        "zh-CN": "图像服务发布",
        "fr-FR": "Publication Image Serving",
    },
    "job.ImageRenderingPublish": {
        "en-US": "Image Rendering publish",
        "de-DE": "Image-Rendering-Veröffentlichung",
        "ja-JP": "画像レンダリングへの公開",
        "zh-CN": "图像渲染发布",
        "fr-FR": "Publication Image Rendering",
    },
    "job.VideoPublish": {
        "en-US": "Video publish",
        "de-DE": "Video-Veröffentlichung",
        "ja-JP": "ビデオの公開",
        "zh-CN": "视频发布",
        "fr-FR": "Publication vidéo",
    },
    "job.ServerDirectoryPublish": {
        "en-US": "Server directory publish",
        "de-DE": "Veröffentlichung in ein Serververzeichnis",
        "ja-JP": "サーバーディレクトリへの公開",
        "zh-CN": "服务器目录发布",
        "fr-FR": "Publication vers un répertoire du serveur",
    },
    "job.Upload": {
        "en-US": "Upload",
        "de-DE": "Upload",
        "ja-JP": "アップロード",
        "zh-CN": "上传",
        "fr-FR": "Chargement",
    },
    "job.ImageOptimization": {
        "en-US": "Image optimization",
        "de-DE": "Bildoptimierung",
        "ja-JP": "画像の最適化",
        "zh-CN": "图像优化",
        "fr-FR": "Optimisation des images",
    },
    "job.Cleanup": {
        "en-US": "Cleanup",
        "de-DE": "Bereinigung",
        "ja-JP": "クリーンアップ",
        "zh-CN": "清理",
        "fr-FR": "Nettoyage",
    },
    "begin": {
        "en-US": "{job} started.",
        "de-DE": "{job} gestartet.",
        "ja-JP": "{job}を開始しました。",
        "zh-CN": "{job}已开始。",
        "fr-FR": "{job} : démarrage.",
    },
    "end": {
        "en-US": "{job} finished. Succeeded: {success}, failed: {errors}, warnings: {warnings}.",
        "de-DE": "{job} abgeschlossen. Erfolgreich: {success}, fehlgeschlagen: {errors}, Warnungen: {warnings}.",
        "ja-JP": "{job}が終了しました。成功: {success} 件、失敗: {errors} 件、警告: {warnings} 件。",
        "zh-CN": "{job}已结束。成功：{success} 个，失败：{errors} 个，警告：{warnings} 个。",
        "fr-FR": "{job} : terminé. Réussites : {success}, échecs : {errors}, avertissements : {warnings}.",
    },
    "success.publish": {
        "en-US": "Published {asset}.",
        "de-DE": "Datei veröffentlicht: {asset}",
        "ja-JP": "{asset} を公開しました。",
        "zh-CN": "已发布 {asset}。",
        "fr-FR": "Fichier publié : {asset}",
    },
    "success.upload": {
        "en-US": "Uploaded {asset}.",
        "de-DE": "Datei hochgeladen: {asset}",
        "ja-JP": "{asset} をアップロードしました。",
        "zh-CN": "已上传 {asset}。",
        "fr-FR": "Fichier chargé : {asset}",
    },
    "success.video": {
        "en-US": "Transcoded and published {asset}.",
        "de-DE": "Transkodiert und veröffentlicht: {asset}",
        "ja-JP": "{asset} をトランスコードして公開しました。",
        "zh-CN": "已转码并发布 {asset}。",
        "fr-FR": "Transcodé et publié : {asset}",
    },
    "error.corrupt": {
        "en-US": "{asset}: the file is damaged or is not in a supported image format.",
        "de-DE": "{asset}: Die Datei ist beschädigt oder liegt in keinem unterstützten Bildformat vor.",
        "ja-JP": "{asset}: ファイルが破損しているか、サポートされていない画像形式です。",
        "zh-CN": "{asset}：文件已损坏，或不是受支持的图像格式。",
        "fr-FR": "{asset} : le fichier est endommagé ou n’est pas dans un format d’image pris en charge.",
    },
    "error.missing": {
        "en-US": "{asset}: the source file was not found on the server.",
        "de-DE": "{asset}: Die Quelldatei wurde auf dem Server nicht gefunden.",
        "ja-JP": "{asset}: ソースファイルがサーバー上に見つかりません。",
        "zh-CN": "{asset}：在服务器上找不到源文件。",
        "fr-FR": "{asset} : le fichier source est introuvable sur le serveur.",
    },
    "error.too_large": {
        "en-US": "{asset}: the image exceeds the maximum size of 512 megapixels.",
        "de-DE": "{asset}: Das Bild überschreitet die maximale Größe von 512 Megapixeln.",
        "ja-JP": "{asset}: 画像が最大サイズの 512 メガピクセルを超えています。",
        "zh-CN": "{asset}：图像超过了 512 百万像素的最大尺寸。",
        "fr-FR": "{asset} : l’image dépasse la taille maximale de 512 mégapixels.",
    },
    "error.transcode": {
        "en-US": "{asset}: video transcoding failed because the codec is not supported.",
        "de-DE": "{asset}: Die Videotranskodierung ist fehlgeschlagen, weil der Codec nicht unterstützt wird.",
        "ja-JP": "{asset}: コーデックがサポートされていないため、ビデオのトランスコードに失敗しました。",
        "zh-CN": "{asset}：编解码器不受支持，视频转码失败。",
        "fr-FR": "{asset} : échec du transcodage vidéo, car le codec n’est pas pris en charge.",
    },
    "fatal.server": {
        "en-US": "Job aborted: no response from server {server} after {seconds} seconds.",
        "de-DE": "Job abgebrochen: Keine Antwort von Server {server} nach {seconds} Sekunden.",
        "ja-JP": "ジョブを中止しました: サーバー {server} から {seconds} 秒以内に応答がありませんでした。",
        "zh-CN": "作业已中止：服务器 {server} 在 {seconds} 秒内没有响应。",
        "fr-FR": "Tâche interrompue : aucune réponse du serveur {server} après {seconds} secondes.",
    },
    "fatal.quota": {
        "en-US": "Job aborted: the company's storage quota has been exceeded.",
        "de-DE": "Job abgebrochen: Das Speicherkontingent des Unternehmens ist überschritten.",
        "ja-JP": "ジョブを中止しました: 会社のストレージ容量の上限を超えています。",
        "zh-CN": "作业已中止：已超出公司的存储配额。",
        "fr-FR": "Tâche interrompue : le quota de stockage de l’entreprise est dépassé.",
    },
    "warn.low_res": {
        "en-US": "{asset}: the image resolution is below the recommended minimum; it was published anyway.",
        "de-DE": (
            "{asset}: Die Bildauflösung liegt unter dem empfohlenen Minimum; das Bild wurde trotzdem veröffentlicht."
        ),
        "ja-JP": "{asset}: 画像の解像度が推奨される最小値を下回っていますが、そのまま公開しました。",
        "zh-CN": "{asset}：图像分辨率低于建议的最小值，但仍已发布。",
        "fr-FR": (
            "{asset} : la résolution de l’image est inférieure au minimum recommandé ; elle a tout de même été publiée."
        ),
    },
    "warn.color_profile": {
        "en-US": "{asset}: the embedded color profile could not be read; sRGB was assumed.",
        "de-DE": "{asset}: Das eingebettete Farbprofil konnte nicht gelesen werden; es wurde sRGB angenommen.",
        "ja-JP": "{asset}: 埋め込みカラープロファイルを読み取れなかったため、sRGB として処理しました。",
        "zh-CN": "{asset}：无法读取嵌入的颜色配置文件，已按 sRGB 处理。",
        "fr-FR": "{asset} : le profil colorimétrique incorporé est illisible ; sRGB a été utilisé.",
    },
    "warn.overwritten": {
        "en-US": "{asset}: an existing file with the same name was overwritten.",
        "de-DE": "{asset}: Eine vorhandene Datei mit demselben Namen wurde überschrieben.",
        "ja-JP": "{asset}: 同じ名前の既存ファイルを上書きしました。",
        "zh-CN": "{asset}：已覆盖同名的现有文件。",
        "fr-FR": "{asset} : un fichier existant portant le même nom a été remplacé.",
    },
    "aux.gave_up": {
        "en-US": "Gave up after {count} attempts.",
        "de-DE": "Nach {count} Versuchen aufgegeben.",
        "ja-JP": "{count} 回試行した後、処理を中止しました。",
        "zh-CN": "尝试 {count} 次后已放弃。",
        "fr-FR": "Abandon après {count} tentatives.",
    },
    "progress.queued": {
        "en-US": "Waiting to start",
        "de-DE": "Wartet auf den Start",
        "ja-JP": "開始待ち",
        "zh-CN": "等待开始",
        "fr-FR": "En attente de démarrage",
    },
    "progress.files": {
        "en-US": "Files processed: {done} of {total}",
        "de-DE": "Verarbeitete Dateien: {done} von {total}",
        "ja-JP": "処理済みファイル: {done} / {total}",
        "zh-CN": "已处理文件：{done} / {total}",
        "fr-FR": "Fichiers traités : {done} sur {total}",
    },
    "progress.transcoding": {
        "en-US": "Transcoding video renditions",
        "de-DE": "Videoausgabeformate werden transkodiert",
        "ja-JP": "ビデオのレンディションをトランスコード中",
        "zh-CN": "正在转码视频演绎版本",
        "fr-FR": "Transcodage des rendus vidéo en cours",
    },
}

# Traditional Chinese must not fall back to the Simplified catalog: English is the honest default there.
_TRADITIONAL_CHINESE = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


def resolve_locale(tag: str | None) -> str | None:
    """The catalog locale for a tag like `ja`, `de_DE` or `fr-CA`; None when no catalog fits."""
    if not tag:
        return None
    wanted = tag.strip().replace("_", "-").lower()
    for known in LOCALES:
        if known.lower() == wanted:
            return known
    if wanted.startswith(_TRADITIONAL_CHINESE):
        return None
    language = wanted.split("-", 1)[0]
    return next((known for known in LOCALES if known.split("-", 1)[0].lower() == language), None)


def accept_language(header: str | None) -> list[str]:
    """Language tags of an Accept-Language header, best first (by q, then by position)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def operation_locale(header_locale: str | None, accept: str | None) -> str:
    """authHeader/locale, else the best Accept-Language match, else the server default."""
    for tag in [header_locale, *accept_language(accept)]:
        resolved = resolve_locale(tag)
        if resolved is not None:
            return resolved
    return DEFAULT_LOCALE


def message(key: str, locale: str, **params: object) -> str:
    """The message `key` in `locale` (a catalog locale or any tag `resolve_locale` understands)."""
    templates = CATALOG[key]
    template = templates.get(locale) or templates[resolve_locale(locale) or DEFAULT_LOCALE]
    return template.format(**params)
