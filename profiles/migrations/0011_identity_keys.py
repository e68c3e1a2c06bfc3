"""Identity resolution's keys: a contact's match key and a shopper's folded name (profiles.identity_keys).

Both are generated columns: adding one rewrites the table once and computes the key of every existing row
(the backfill), and PostgreSQL keeps them right on every later write, whichever path makes it. pg_trgm
(trusted since PostgreSQL 13) gives the name index its similarity operator.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.operations
import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('merchants', '0005_idempotency_record_moves_to_core'),
        ('profiles', '0010_network_feed_moved_to_payments'),
    ]

    operations = [
        django.contrib.postgres.operations.TrigramExtension(),
        migrations.AddField(
            model_name='contactpoint',
            name='match_key',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.expressions.RawSQL("CASE WHEN kind = 'email' THEN (CASE WHEN split_part(lower(value), '@', 2) IN ('gmail.com', 'googlemail.com') THEN replace(split_part(split_part(lower(value), '@', 1), '+', 1), '.', '') || '@' || 'gmail.com' WHEN split_part(lower(value), '@', 2) IN ('outlook.com', 'hotmail.com', 'live.com', 'icloud.com', 'me.com', 'mac.com', 'fastmail.com', 'fastmail.fm', 'proton.me', 'protonmail.com', 'pm.me') THEN split_part(split_part(lower(value), '@', 1), '+', 1) || '@' || split_part(lower(value), '@', 2) ELSE lower(value) END) ELSE '+' || regexp_replace(value, '[^0-9]', '', 'g') END", ()), output_field=models.CharField(max_length=254)),
        ),
        migrations.AddField(
            model_name='shopper',
            name='name_key',
            field=models.GeneratedField(db_persist=True, expression=django.db.models.expressions.RawSQL("btrim(regexp_replace(translate(normalize(regexp_replace(normalize(lower(normalize(first_name || ' ' || last_name, NFKC)), NFD), '[\\u0300-\\u036f\\u064b-\\u065f\\u0670\\u0640]', '', 'g'), NFC), 'آأإٱةىς陳張黃劉吳趙楊鄭謝許鄧馮葉蕭羅錢孫鍾盧賴簡韓蘇龍鄒譚關嚴湯陸顧閻蔣鄺萬馬東歐陽聶鄔麥莊華範衛賀齊龔貝紀溫塗區偉國強軍麗紅傑濤雲鳳榮慶興輝寶鵬藝詩義達賢聰穎靜嬌銘軒豐劍長書開順進誠龐銀潔蓮漢學勝曉鴻發寧婭瑩嶺蘭鶯錦綺維緯', 'ااااهيσ陈张黄刘吴赵杨郑谢许邓冯叶萧罗钱孙钟卢赖简韩苏龙邹谭关严汤陆顾阎蒋邝万马东欧阳聂邬麦庄华范卫贺齐龚贝纪温涂区伟国强军丽红杰涛云凤荣庆兴辉宝鹏艺诗义达贤聪颖静娇铭轩丰剑长书开顺进诚庞银洁莲汉学胜晓鸿发宁娅莹岭兰莺锦绮维纬'), '\\s+', ' ', 'g'))", ()), output_field=models.CharField(max_length=201)),
        ),
        migrations.AddIndex(
            model_name='contactpoint',
            index=models.Index(fields=['merchant', 'kind', 'match_key'], name='contact_match_key'),
        ),
        migrations.AddIndex(
            model_name='shopper',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.indexes.OpClass(models.F('name_key'), name='gin_trgm_ops'), name='shopper_name_trigram'),
        ),
    ]
